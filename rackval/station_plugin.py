"""pytest plugin for the test station: ``--station``, the ``station`` and ``instruments``
fixtures, and parametrization over the station's instruments and wiring.

A test argument named ``instrument`` runs once per station instrument (id: its
name); ``wired_test_point`` once per wiring entry (id: the test point). Either
can be narrowed with ``@pytest.mark.wired(instrument="eload", test_point="shelf_output")``
(instrument kinds: ``dmm``, ``supply``, ``eload``; test point kinds from the rack file).

``instruments[name]`` is a connected driver, reached through the simulated
rack's endpoint under ``--sim``. Every driver used is put in its safe state
(outputs and inputs off) when the session ends, whatever happened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from drivers.base import Target
from rackval import registry
from rackval.errors import ConfigError
from rackval.model import TestPoint
from rackval.plugin import rackval_state
from rackval.station import (
    InstrumentSpec,
    Station,
    Wiring,
    check_against_rack,
    load_station,
    station_for_rack,
)

log = logging.getLogger("rackval")


@dataclass(frozen=True)
class StationInstrument:
    """One bench instrument, as a test parameter."""

    name: str
    kind: str  # dmm, supply, eload (the driver class's ``kind``)
    spec: InstrumentSpec

    @property
    def id(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return f"{self.name} ({self.spec.expected.model or self.spec.driver})"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class WiredTestPoint:
    """An instrument channel wired to a rack test point, as a test parameter."""

    instrument: str
    kind: str  # the instrument's kind
    test_point: str
    wiring: Wiring
    spec: TestPoint | None  # None when no rack file was given

    @property
    def id(self) -> str:
        return self.test_point

    @property
    def label(self) -> str:
        return f"{self.test_point} (via {self.instrument} channel {self.wiring.channel})"

    def __str__(self) -> str:
        return self.test_point


@dataclass
class StationState:
    station: Station
    kinds: dict[str, str]  # instrument name -> kind


STATE = pytest.StashKey[StationState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rackval", "rack validation")
    group.addoption("--station", metavar="FILE", help="station file (default: the rack file's station:)")


def _instrument_kinds(station: Station) -> dict[str, str]:
    return {
        name: getattr(registry.load(registry.DRIVERS, spec.driver), "kind", "instrument")
        for name, spec in station.instruments.items()
    }


def _load(config: pytest.Config) -> StationState | None:
    path = config.getoption("--station")
    state = rackval_state(config)
    if state is not None:
        station = station_for_rack(state.rack, path)
    elif path:
        station = load_station(path)
    else:
        return None
    if station is None:
        return None
    if state is not None and state.run.station_id == "unconfigured":
        state.run.station_id = station.station.id
    return StationState(station, _instrument_kinds(station))


@pytest.hookimpl(trylast=True)  # after rackval's plugin has loaded the rack
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "wired(instrument=KIND, test_point=KIND): only station instruments/wiring of these kinds",
    )
    try:
        st = _load(config)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if st is not None:
        config.stash[STATE] = st


def station_state(config: pytest.Config) -> StationState | None:
    return config.stash.get(STATE, None)


def pytest_report_header(config: pytest.Config) -> str | None:
    st = station_state(config)
    if st is None:
        return None
    names = ", ".join(f"{n} ({k})" for n, k in st.kinds.items())
    return f"station: {st.station.station.id}: {names}"


def station_instruments(config: pytest.Config, kind: str | None = None) -> list[StationInstrument]:
    st = station_state(config)
    if st is None:
        return []
    return [
        StationInstrument(name, st.kinds[name], spec)
        for name, spec in st.station.instruments.items()
        if kind is None or st.kinds[name] == kind
    ]


def wired_test_points(
    config: pytest.Config, kind: str | None = None, test_point_kind: str | None = None
) -> list[WiredTestPoint]:
    st = station_state(config)
    if st is None:
        return []
    rack_state = rackval_state(config)
    points = []
    for name, wire in st.station.wiring.items():
        spec = rack_state.rack.test_points.get(wire.test_point) if rack_state else None
        if kind is not None and st.kinds[name] != kind:
            continue
        if test_point_kind is not None and (spec is None or spec.kind != test_point_kind):
            continue
        points.append(WiredTestPoint(name, st.kinds[name], wire.test_point, wire, spec))
    return points


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("wired")
    kind = marker.kwargs.get("instrument") if marker else None
    tp_kind = marker.kwargs.get("test_point") if marker else None
    if "instrument" in metafunc.fixturenames:
        items = station_instruments(metafunc.config, kind)
        metafunc.parametrize("instrument", items, ids=[i.id for i in items])
    if "wired_test_point" in metafunc.fixturenames:
        points = wired_test_points(metafunc.config, kind, tp_kind)
        metafunc.parametrize("wired_test_point", points, ids=[p.id for p in points])


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def station(request: pytest.FixtureRequest) -> Station:
    """The station file in use (from ``--station`` or the rack file's ``station:``)."""
    st = station_state(request.config)
    if st is None:
        raise pytest.UsageError(
            "this test needs a station: give the rack file a station: or pass --station FILE"
        )
    return st.station


class StationInstruments:
    """Drivers of the station's instruments by name, created on first use."""

    def __init__(self, station: Station, overlay: dict[str, dict[str, Any]] | None) -> None:
        self.station = station
        self.overlay = overlay
        self._drivers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def target(self, name: str) -> Target:
        spec = self.station.instruments[name]
        endpoint: dict[str, Any] = {}
        if self.overlay is not None:
            if name not in self.overlay:
                raise ConfigError(f"{name}: the simulated rack does not simulate this instrument")
            endpoint = self.overlay[name]
        options = {
            "kind": "instrument",
            "driver": spec.driver,
            "resource": endpoint.get("resource", spec.resource),
            "visa_library": spec.visa_library,
            "timeout_ms": spec.timeout_ms,
            "read_termination": spec.read_termination,
            "write_termination": spec.write_termination,
            "expected": spec.expected.model_dump(),
        }
        return Target(
            name=name,
            host=endpoint.get("host", ""),
            port=int(endpoint.get("port", 0)),
            options=options,
            timeout_s=spec.timeout_ms / 1000,
            retries=0,
        )

    def __getitem__(self, name: str) -> Any:
        if name not in self.station.instruments:
            raise KeyError(f"no instrument named {name!r} in station {self.station.station.id}")
        with self._lock:
            if name not in self._drivers:
                cls = registry.load(registry.DRIVERS, self.station.instruments[name].driver)
                self._drivers[name] = cls(self.target(name), None)
            return self._drivers[name]

    def __contains__(self, name: object) -> bool:
        return name in self.station.instruments

    def close(self) -> list[str]:
        """Safe state and close every driver used; returns the problems (never raises)."""
        problems = []
        for name, drv in list(self._drivers.items()):
            try:
                drv.close()
            except Exception as exc:
                problems.append(f"{name}: {exc}")
                log.warning("%s: could not close: %s", name, exc)
        self._drivers.clear()
        return problems


@pytest.fixture(scope="session")
def instruments(request: pytest.FixtureRequest, station: Station) -> Iterator[StationInstruments]:
    """The station's instrument drivers; all left in their safe state at session end."""
    state = rackval_state(request.config)
    overlay = None
    if state is not None:
        request.getfixturevalue("rack")  # starts the simulated rack under --sim
        check_against_rack(station, state.rack)
        overlay = state.session.overlay or None if state.session is not None else None
    bench = StationInstruments(station, overlay)
    try:
        yield bench
    finally:
        bench.close()
