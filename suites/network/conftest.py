"""Network suite fixtures: the error-counter soak (thin; the work is in plain functions)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from drivers.errors import DeviceError
from drivers.switch import ErrorCounters

DEFAULT_SOAK_SECONDS = 2.0


Reading = dict[str, ErrorCounters] | DeviceError


def soak_counters(
    read: Callable[[str], list[ErrorCounters]], switches: list[str], seconds: float
) -> dict[str, Reading]:
    """Counter deltas per switch and port over ``seconds``, read concurrently across switches.

    A switch that cannot be read maps to its error; the others are still soaked.
    """

    def safe(name: str) -> list[ErrorCounters] | DeviceError:
        try:
            return read(name)
        except DeviceError as exc:
            return exc

    if not switches:
        return {}
    with ThreadPoolExecutor(max_workers=min(32, len(switches)), thread_name_prefix="soak") as pool:
        before = dict(zip(switches, pool.map(safe, switches), strict=True))
        time.sleep(seconds)
        ready = [n for n in switches if not isinstance(before[n], DeviceError)]
        after = dict(zip(ready, pool.map(safe, ready), strict=True))
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("rackval", "rack validation").addoption(
        "--soak-seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"error-counter soak interval of the network suite (default {DEFAULT_SOAK_SECONDS:g} s)",
    )


@pytest.fixture(scope="session")
def soak_seconds(request: pytest.FixtureRequest) -> float:
    value = request.config.getoption("--soak-seconds")
    return DEFAULT_SOAK_SECONDS if value is None else value


@pytest.fixture(scope="session")
def error_soak(rack, soak_seconds: float) -> dict[str, Reading]:
    """Per switch: error-counter deltas over the soak interval (read once per session)."""
    switches = [n for n in rack.rack.devices_of("switch") if rack.broken(n) is None]
    readings = soak_counters(lambda name: rack.driver(name).counters(), switches, soak_seconds)
    for name in rack.rack.devices_of("switch"):
        if name not in readings:
            readings[name] = rack.broken(name)
    return readings
