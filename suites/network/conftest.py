"""Network suite fixtures: the error-counter soak (thin; the work is in plain functions)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from drivers.errors import DeviceError
from drivers.switch import ErrorCounters

DEFAULT_SOAK_SECONDS = 2.0


Reading = dict[str, ErrorCounters] | DeviceError


class Soak:
    """An error-counter soak under way: its first reading started, its second taken in the background.

    Started with the rack session when no destructive test comes first
    (``pytest_rackval_rack_ready``), else as soon as the network suite starts
    (``soak_started``), so the first reading and the interval overlap the other
    tests instead of being waited out by the first ``test_port_errors``. The
    second reading starts when the network suite does (:meth:`finish_soon`), or
    when the interval has passed if that is later; the suite's tests before
    ``test_port_errors`` overlap it. The interval runs from the end of the
    first reading to the start of the second: at least ``seconds``, longer when
    the tests before the network suite took longer.
    """

    def __init__(
        self, read: Callable[[str], list[ErrorCounters]], switches: list[str], seconds: float
    ) -> None:
        self.seconds = seconds
        self.switches = list(switches)
        self.interval_s = 0.0
        self._read = read
        self._first_done = time.monotonic()  # when the last first reading ended (no switch: now)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        # one worker per switch, and one for the second reading's wait
        self._pool = ThreadPoolExecutor(max_workers=min(33, len(switches) + 1), thread_name_prefix="soak")
        self._first = {name: self._pool.submit(self._first_reading, name) for name in self.switches}
        self._second: Future[tuple[dict[str, Reading], float]] | None = None

    def _safe(self, name: str) -> list[ErrorCounters] | DeviceError:
        try:
            return self._read(name)
        except DeviceError as exc:
            return exc

    def _first_reading(self, name: str) -> list[ErrorCounters] | DeviceError:
        reading = self._safe(name)
        with self._lock:
            self._first_done = max(self._first_done, time.monotonic())
        return reading

    def finish_soon(self) -> None:
        """Take the second reading in the background, once the interval has passed (once)."""
        if self._second is not None:
            return
        with self._lock:
            if self._second is None:
                self._second = self._pool.submit(self._second_reading)

    def _second_reading(self) -> tuple[dict[str, Reading], float]:
        before = {name: future.result() for name, future in self._first.items()}
        if self._closing.wait(max(0.0, self.seconds - (time.monotonic() - self._first_done))):
            raise RuntimeError("the soak was stopped before its interval ended")
        started = time.monotonic()
        ready = [n for n in self.switches if not isinstance(before[n], DeviceError)]
        after = dict(zip(ready, self._pool.map(self._safe, ready), strict=True))
        return _deltas(self.switches, before, after), started - self._first_done

    def result(self) -> dict[str, Reading]:
        """Counter deltas per switch and port; a switch that cannot be read maps to its error."""
        self.finish_soon()
        assert self._second is not None
        readings, self.interval_s = self._second.result()
        return readings

    def close(self) -> None:
        """Wait for reads under way (each bounded by its device's timeout); start no more."""
        self._closing.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _deltas(
    switches: list[str], before: dict[str, Reading | list[ErrorCounters]], after: dict[str, Any]
) -> dict[str, Reading]:
    result: dict[str, Reading] = {}
    for name in switches:
        first, last = before[name], after.get(name, before[name])
        if isinstance(first, DeviceError):
            result[name] = first
        elif isinstance(last, DeviceError):
            result[name] = last
        else:
            start = {c.port: c for c in first}
            result[name] = {c.port: start[c.port].delta(c) for c in last if c.port in start}
    return result


def soak_counters(
    read: Callable[[str], list[ErrorCounters]], switches: list[str], seconds: float
) -> dict[str, Reading]:
    """Counter deltas per switch and port over ``seconds``, read concurrently across switches.

    A switch that cannot be read maps to its error; the others are still soaked.
    """
    if not switches:
        return {}
    soak = Soak(read, switches, seconds)
    try:
        return soak.result()
    finally:
        soak.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("rackval", "rack validation").addoption(
        "--soak-seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"error-counter soak of the network suite: at least this long, from the rack session's "
        f"start, or from the suite's first test when a destructive test runs before it "
        f"(default {DEFAULT_SOAK_SECONDS:g} s)",
    )


def _soak_seconds(config: pytest.Config) -> float:
    value = config.getoption("--soak-seconds")
    return DEFAULT_SOAK_SECONDS if value is None else value


@pytest.fixture(scope="session")
def soak_seconds(request: pytest.FixtureRequest) -> float:
    return _soak_seconds(request.config)


def _start_soak(rack: Any, seconds: float) -> Soak:
    switches = [n for n in rack.rack.devices_of("switch") if rack.broken(n) is None]
    return Soak(lambda name: rack.driver(name).counters(), switches, seconds)


def _needs_soak(item: pytest.Item) -> bool:
    return "error_soak" in getattr(item, "fixturenames", ())


def soak_starts_with_the_rack(items: list[pytest.Item]) -> bool:
    """Whether the soak may start with the rack session, before the network suite's first test.

    Only when a selected test needs it and no destructive test runs before the
    first one that does: switching outlets or sequencing power makes links go
    down and up, and a soak over that would blame the cabling for their errors.
    """
    for item in items:
        if _needs_soak(item):
            return True
        if item.get_closest_marker("destructive") is not None:
            return False
    return False


_EARLY_SOAK = pytest.StashKey[Soak]()


def pytest_rackval_rack_ready(rack: Any, items: list[pytest.Item], config: pytest.Config) -> None:
    """Start the soak with the rack session when it may: it then overlaps the suites before this one.

    (The demo run's network suite used to wait out most of its 2 s soak.) The
    session stops it before its drivers close.
    """
    if soak_starts_with_the_rack(items):
        soak = _start_soak(rack, _soak_seconds(config))
        config.stash[_EARLY_SOAK] = soak
        rack.on_close(soak.close)


@pytest.fixture(scope="session", autouse=True)
def soak_started(request: pytest.FixtureRequest) -> Iterator[Soak | None]:
    """The soak, if a selected test needs it (else None): started with the rack session, or now.

    Set up when the network suite starts (it is the suite's autouse fixture):
    the soak takes its second reading from then on (:meth:`Soak.finish_soon`),
    once its interval has passed, while the suite's other tests run.
    """
    if not any(_needs_soak(item) for item in request.session.items):
        yield None
        return
    rack = request.getfixturevalue("rack")  # starts the rack session, and the soak with it if it may
    early = request.config.stash.get(_EARLY_SOAK, None)
    if early is not None:
        early.finish_soon()
        yield early  # the rack session stops it
        return
    soak = _start_soak(rack, _soak_seconds(request.config))
    soak.finish_soon()
    try:
        yield soak
    finally:
        soak.close()


@dataclass(frozen=True)
class SoakResult:
    """Per switch, its counter deltas (or the error reading it); the interval they cover."""

    readings: dict[str, Reading]
    interval_s: float


@pytest.fixture(scope="session")
def error_soak(rack, soak_started: Soak | None, soak_seconds: float) -> SoakResult:
    """Per switch: error-counter deltas over the soak interval (read once per session)."""
    soak = soak_started or _start_soak(rack, soak_seconds)
    try:
        readings = dict(soak.result())
    finally:
        if soak is not soak_started:
            soak.close()
    for name in rack.rack.devices_of("switch"):
        if name not in readings:
            readings[name] = rack.broken(name)
    return SoakResult(readings, soak.interval_s)
