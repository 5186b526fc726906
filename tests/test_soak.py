"""The network suite's error soak: started early, an interval of at least its seconds, errors per switch."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from drivers.errors import DeviceTimeout
from drivers.switch import ErrorCounters
from suites.network.conftest import Soak, soak_counters

ROOT = Path(__file__).resolve().parent.parent


def counters(fcs: int) -> list[ErrorCounters]:
    return [ErrorCounters("Ethernet1", fcs, None, None, None, None, None)]


class Switches:
    """Plain stand-in switches: each read bumps a switch's FCS count; ``dead`` never answers."""

    def __init__(self, dead: str = "", delay: float = 0.0) -> None:
        self.reads: list[tuple[str, float]] = []
        self.ended: list[str] = []
        self.delay = delay
        self.dead = dead
        self.first_read = threading.Event()
        self._lock = threading.Lock()

    def read(self, name: str) -> list[ErrorCounters]:
        with self._lock:
            self.reads.append((name, time.monotonic()))
            n = sum(1 for r, _ in self.reads if r == name)
        self.first_read.set()
        time.sleep(self.delay)
        self.ended.append(name)
        if name == self.dead:
            raise DeviceTimeout(name, "show interfaces counters errors", "no answer within 1 s")
        return counters(5 * n)


def test_the_first_reading_starts_with_the_soak_not_when_its_result_is_asked():
    switches = Switches()
    soak = Soak(switches.read, ["leaf-1", "leaf-2"], 0.2)
    try:
        assert switches.first_read.wait(5)
        time.sleep(0.3)  # the suite's other tests run meanwhile
        asked = time.monotonic()
        readings = soak.result()
    finally:
        soak.close()
    firsts = [t for _, t in switches.reads[:2]]
    assert all(t < asked for t in firsts)
    assert readings["leaf-1"]["Ethernet1"].fcs_errors == 5  # 10 at the second reading, 5 at the first
    assert soak.interval_s >= 0.2
    assert len(switches.reads) == 4


def test_the_interval_is_at_least_the_soak_seconds_when_asked_at_once():
    switches = Switches()
    readings = soak_counters(switches.read, ["leaf-1"], 0.25)
    (_, first), (_, second) = switches.reads
    assert second - first >= 0.25
    assert readings["leaf-1"]["Ethernet1"].fcs_errors == 5


def test_a_switch_that_cannot_be_read_maps_to_its_error_and_the_others_are_soaked():
    switches = Switches(dead="leaf-2")
    readings = soak_counters(switches.read, ["leaf-1", "leaf-2"], 0.0)
    assert isinstance(readings["leaf-2"], DeviceTimeout) and "leaf-2" in str(readings["leaf-2"])
    assert readings["leaf-1"]["Ethernet1"].fcs_errors == 5
    assert [n for n, _ in switches.reads].count("leaf-2") == 1  # not read again after failing


def test_closing_a_soak_never_asked_waits_for_the_reads_under_way():
    switches = Switches(delay=0.3)
    soak = Soak(switches.read, ["leaf-1", "leaf-2", "leaf-3"], 10.0)
    assert switches.first_read.wait(5)
    soak.close()  # at the end of a session whose port-error tests never ran
    started = {n for n, _ in switches.reads}
    assert started and sorted(switches.ended) == sorted(started)


def test_the_second_reading_is_taken_in_the_background_once_asked_and_the_interval_passed():
    switches = Switches()
    soak = Soak(switches.read, ["leaf-1", "leaf-2"], 0.2)
    try:
        soak.finish_soon()  # the network suite starts
        soak.finish_soon()  # again, at its next test: still one second reading
        deadline = time.monotonic() + 5
        while len(switches.ended) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(switches.ended) == 4, "the second reading should not wait for result()"
        asked = time.monotonic()
        readings = soak.result()
    finally:
        soak.close()
    assert len(switches.reads) == 4
    assert all(t < asked for _, t in switches.reads)
    firsts = max(t for _, t in switches.reads[:2])
    assert min(t for _, t in switches.reads[2:]) - firsts >= 0.2
    assert readings["leaf-1"]["Ethernet1"].fcs_errors == 5
    assert readings["leaf-2"]["Ethernet1"].fcs_errors == 5
    assert 0.2 <= soak.interval_s < 5


def test_closing_a_soak_during_its_interval_stops_it_without_a_second_reading():
    switches = Switches()
    soak = Soak(switches.read, ["leaf-1"], 30.0)
    soak.finish_soon()
    assert switches.first_read.wait(5)
    started = time.monotonic()
    soak.close()  # the session ends (a stop, an error) before the interval is over
    assert time.monotonic() - started < 10, "close() should not wait out the soak's interval"
    assert [n for n, _ in switches.reads] == ["leaf-1"]


class _Item:
    """What soak_starts_with_the_rack reads of a collected test: its fixtures, its marks."""

    def __init__(self, *fixtures: str, destructive: bool = False) -> None:
        self.fixturenames = list(fixtures)
        self.destructive = destructive

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "destructive" and self.destructive else None


def test_the_soak_starts_with_the_rack_unless_a_destructive_test_comes_first():
    from suites.network.conftest import soak_starts_with_the_rack

    read_only, soaked = _Item("rack"), _Item("rack", "error_soak")
    switching = _Item("rack", "restore", destructive=True)
    assert soak_starts_with_the_rack([read_only, read_only, soaked, switching])
    assert soak_starts_with_the_rack([soaked, switching])
    assert not soak_starts_with_the_rack([read_only, switching, soaked])
    assert not soak_starts_with_the_rack([read_only, switching])  # no test needs a soak
    assert not soak_starts_with_the_rack([])


@pytest.mark.parametrize(
    ("suites", "early"),
    [
        (["power", "network"], True),  # read-only power tests first: the soak overlaps them
        (["sequencing", "network"], False),  # power sequenced first: the soak waits for the suite
    ],
)
def test_a_run_starts_the_soak_with_the_rack_only_when_no_destructive_test_comes_first(
    tmp_path, suites, early
):
    from tests.suite_runner import run_suites

    probe = tmp_path / "probe.json"
    extra = ["-p", "tests.soak_probe", "--soak-seconds", "0.5"]
    if early:
        extra += ["-m", "not destructive"]
    run = run_suites(
        tmp_path,
        ROOT / "fixtures" / "racks" / "demo.yaml",
        suites=suites,
        extra=extra,
        env={"SOAK_PROBE": str(probe)},
    )
    assert run.returncode == 0, run.output[-3000:]
    seen = json.loads(probe.read_text())
    assert seen["first"].startswith("suites/network/")
    assert seen["early"] is early
    soaked = [t for t in run.outcomes if t.startswith("test_port_errors[")]
    assert soaked and all(run.outcomes[t].outcome == "passed" for t in soaked)
