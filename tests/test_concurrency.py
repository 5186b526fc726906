"""Concurrency must not cost correctness: readings once per device, failures per item.

Not timed. Each test runs the non-destructive power and network suites in a child
pytest against a simulated rack (``--endpoints`` to a rack started here, so the
simulators' own request counts can be read before and after).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rackval.items import Item
from rackval.model import load_rack
from rackval.session import RackSession
from rackval.simprocess import SimProcess, start_sim_process
from simulators.scenario import load_scenarios
from tests.conftest import DEMO_RACK, ROOT, SCENARIOS
from tests.suite_runner import Outcome, read_junit

HALL_RACK = ROOT / "fixtures" / "racks" / "hall.yaml"
SUITES = [str(ROOT / "suites" / "power"), str(ROOT / "suites" / "network")]


def stats(sim: SimProcess) -> dict[str, dict[str, int]]:
    return sim.control("stats")


def delta(before: dict, after: dict, key: str) -> dict[str, int]:
    return {name: after[name].get(key, 0) - before[name].get(key, 0) for name in after}


def run_suites(tmp_path: Path, rack: Path, endpoints: Path, *extra: str) -> tuple[dict[str, Outcome], str]:
    junit = tmp_path / "junit.xml"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *SUITES,
        "--rack",
        str(rack),
        "--endpoints",
        str(endpoints),
        "-m",
        "not destructive",
        "--soak-seconds",
        "0",
        "-p",
        "no:cacheprovider",
        "--results-dir",
        str(tmp_path / "results"),
        f"--junitxml={junit}",
        "-q",
        *extra,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert junit.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return read_junit(junit), proc.stdout + proc.stderr


@pytest.fixture
def demo_sim(tmp_path: Path):
    sim = start_sim_process(DEMO_RACK, [], workdir=tmp_path / "sim")
    try:
        yield sim
    finally:
        sim.stop()


def test_readings_are_gathered_once_per_device_per_session(tmp_path: Path, demo_sim: SimProcess):
    rack = load_rack(DEMO_RACK)
    pdus, switches = list(rack.devices_of("pdu")), list(rack.devices_of("switch"))

    # what one snapshot of each device costs, in requests, from a fresh session
    before = stats(demo_sim)
    session = RackSession(rack, demo_sim.overlay)
    try:
        session.gather("pdu")
        session.gather("switch")
        for name in pdus + switches:
            session.snapshot(name)  # raises if a reading failed
    finally:
        session.close()
    one_snapshot = delta(before, stats(demo_sim), "requests")
    assert all(one_snapshot[n] > 0 for n in pdus + switches), one_snapshot

    before = stats(demo_sim)
    outcomes, output = run_suites(tmp_path, DEMO_RACK, demo_sim.workdir / "endpoints.json")
    after = stats(demo_sim)
    served = delta(before, after, "requests")
    connections = delta(before, after, "connections")

    outlet_tests = [t for t in outcomes if t.startswith("test_outlet_current[")]
    link_tests = [t for t in outcomes if t.startswith("test_lldp_neighbor[")]
    assert len(outlet_tests) == len(rack.power) and len(link_tests) == len(rack.cabling), output[-2000:]
    failed = {t: o.message for t, o in outcomes.items() if o.outcome in ("failed", "error")}
    assert not failed, failed
    for pdu in pdus:
        # dozens of outlet tests, one snapshot's worth of SNMP requests
        assert served[pdu] == one_snapshot[pdu], (pdu, served[pdu], one_snapshot[pdu])
    for switch in switches:
        # one snapshot, plus the error-counter soak's two reads; over one SSH session
        assert served[switch] == one_snapshot[switch] + 2, (switch, served, one_snapshot)
        assert connections[switch] == 1, (switch, connections)


FAULTS = [
    "dead-outlet",
    "overcurrent-outlet",
    "phase-imbalance",
    "missing-cable",
    "wrong-speed",
    "low-rx-power",
]


def test_faults_on_several_devices_are_reported_per_item(tmp_path: Path):
    scenario_files = [SCENARIOS / f"{name}.yaml" for name in FAULTS]
    scenario = load_scenarios(scenario_files)
    assert len({f.device for f in scenario.faults}) >= 4  # pdu-a, pdu-b, leaf-1, leaf-2
    sim = start_sim_process(DEMO_RACK, scenario_files, workdir=tmp_path / "sim")
    try:
        outcomes, output = run_suites(tmp_path, DEMO_RACK, sim.workdir / "endpoints.json")
    finally:
        sim.stop()
    collected = list(outcomes)
    expected = scenario.expect.expand(collected)
    failed = {t for t, o in outcomes.items() if o.outcome in ("failed", "error")}
    assert expected, "the scenarios' expected failures match no collected test"
    assert failed == expected, (sorted(failed ^ expected), output[-3000:])
    for test_id in failed:
        # each failing item names its own outlet or port, not a device-wide error
        item = test_id.split("[", 1)[1].rstrip("]")
        device, _, part = item.partition("/")
        message = outcomes[test_id].message
        assert device in message and (not part or part in message), (test_id, message)


def test_hall_rack_collects_400_links_and_runs(tmp_path: Path):
    rack = load_rack(HALL_RACK)
    assert len(rack.devices_of("pdu")) >= 4 and len(rack.devices_of("switch")) >= 9
    assert len(rack.cabling) >= 400
    sim = start_sim_process(HALL_RACK, [], workdir=tmp_path / "sim", timeout=120)
    try:
        outcomes, output = run_suites(
            tmp_path,
            HALL_RACK,
            sim.workdir / "endpoints.json",
            "-k",
            "test_lldp_neighbor or test_outlet_current or test_pdu_identity",
        )
        served = {n: s.get("requests", 0) for n, s in stats(sim).items()}
    finally:
        sim.stop()
    links = [t for t, o in outcomes.items() if t.startswith("test_lldp_neighbor[")]
    assert len(links) == len(rack.cabling) >= 400, output[-2000:]
    failed = {t: o.message for t, o in outcomes.items() if o.outcome in ("failed", "error")}
    assert not failed, list(failed.items())[:5]
    passed = [t for t, o in outcomes.items() if o.outcome == "passed"]
    assert len(passed) == len(rack.cabling) + len(rack.power) + 4
    used = set(rack.devices_of("pdu")) | {t.split("[", 1)[1].split("/", 1)[0] for t in links}
    assert all(served[n] > 0 for n in used), served
    # a device none of the selected tests is about is not read
    assert all(served[n] == 0 for n in set(rack.devices) - used), served


def test_snapshots_read_ahead_in_the_background_and_dropped_by_a_change_before_use(demo_sim: SimProcess):
    """A read-only run reads its devices ahead, in the background; a change drops those not used yet."""
    rack = load_rack(DEMO_RACK)
    pdus, switches = list(rack.devices_of("pdu")), list(rack.devices_of("switch"))
    session = RackSession(rack, demo_sim.overlay)
    try:
        before = stats(demo_sim)
        session.read_ahead(pdus + switches)
        session.snapshot(pdus[0])  # waits for its own read only
        session.driver(switches[0])  # waits for the switch's read: a test's commands never interleave
        read = delta(before, stats(demo_sim), "requests")
        assert read[switches[0]] > 0, read
        for name in pdus + switches:
            session._wait_ahead([name])
        read = delta(before, stats(demo_sim), "requests")
        assert all(read[n] > 0 for n in pdus + switches), read  # every device read, none asked for yet

        before = stats(demo_sim)
        session.snapshot(switches[0])  # used: kept through a change
        assert delta(before, stats(demo_sim), "requests")[switches[0]] == 0  # read ahead, not again
        session.invalidate(pdus[0])  # a change (what SafeState reports) before the others' first use
        before = stats(demo_sim)
        session.snapshot(switches[0])
        assert delta(before, stats(demo_sim), "requests")[switches[0]] == 0
        for name in switches[1:]:
            session.snapshot(name)  # read again: the one read ahead predates the change
        again = delta(before, stats(demo_sim), "requests")
        assert all(again[n] > 0 for n in switches[1:]), again
    finally:
        session.close()


def test_a_read_ahead_under_way_at_a_change_is_not_kept(demo_sim: SimProcess):
    """A change while a device is still being read ahead: its first use reads it again."""
    rack = load_rack(DEMO_RACK)
    switch = next(iter(rack.devices_of("switch")))
    pdu = next(iter(rack.devices_of("pdu")))
    once = RackSession(rack, demo_sim.overlay)
    try:
        before = stats(demo_sim)
        once.snapshot(switch)
        one_read = delta(before, stats(demo_sim), "requests")[switch]
    finally:
        once.close()
    assert one_read > 0

    session = RackSession(rack, demo_sim.overlay)
    try:
        before = stats(demo_sim)
        with session.devices._device_lock(switch):  # holds the read ahead until the change is made
            session.read_ahead([switch])
            session.invalidate(pdu)
        session.snapshot(switch)
    finally:
        session.close()  # waits for the read ahead, which may still be under way
    assert delta(before, stats(demo_sim), "requests")[switch] == 2 * one_read  # ahead, then again


def test_no_read_ahead_when_a_destructive_test_is_selected():
    from rackval.plugin.core import read_ahead_devices

    rack = load_rack(DEMO_RACK)
    pdu, switch = next(iter(rack.devices_of("pdu"))), next(iter(rack.devices_of("switch")))

    class Node:
        def __init__(self, destructive: bool, *devices: str) -> None:
            self.destructive = destructive
            self.callspec = type("CallSpec", (), {})()
            self.callspec.params = {d: Item(kind="x", id=d, device=d, spec=None) for d in devices}

        def get_closest_marker(self, name: str):
            return object() if name == "destructive" and self.destructive else None

    assert read_ahead_devices([Node(False, switch), Node(True, pdu)], rack) == []
    assert read_ahead_devices([Node(False)], rack) == []  # no rack items: nothing to read ahead
    # in the order the tests first use them, each once
    assert read_ahead_devices([Node(False, switch), Node(False, pdu), Node(False, switch)], rack) == [
        switch,
        pdu,
    ]


def test_what_a_session_starts_is_stopped_first_when_it_closes(demo_sim: SimProcess):
    """``on_close`` stops run newest first, while the drivers still work; a failing stop is reported."""
    rack = load_rack(DEMO_RACK)
    switch = next(iter(rack.devices_of("switch")))
    session = RackSession(rack, demo_sim.overlay)
    seen: list[str] = []

    def read_counters() -> None:  # a suite's background work, ended before the drivers close
        seen.append(f"counters {len(session.driver(switch).counters())}")

    def broken_stop() -> None:
        raise RuntimeError("stuck")

    session.on_close(read_counters)
    session.on_close(broken_stop)
    session.on_close(lambda: seen.append("newest"))
    problems = session.close()
    assert seen[0] == "newest" and seen[1].startswith("counters ") and seen[1] != "counters 0"
    assert len(problems) == 1 and "broken_stop" in problems[0] and "stuck" in problems[0]
    session.close()  # a second close stops nothing again
    assert len(seen) == 2
