"""pytest plugin for the test station: the ``station`` and ``instruments`` fixtures,
and parametrization over the station's instruments and wiring.

A test argument named ``instrument`` runs once per station instrument (id: its
name); ``wired_test_point`` once per wiring entry (id: the test point). Either
can be narrowed with ``@pytest.mark.wired(instrument="eload", test_point="shelf_output")``
(instrument kinds: ``dmm``, ``supply``, ``eload``; test point kinds from the rack file).

``instruments[name]`` is a connected driver, reached through the simulated
rack's endpoint under ``--sim``. Every driver used is put in its safe state
(outputs and inputs off) when the session ends, whatever happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from rackval import registry
from rackval.devices import Bench, DeviceRegistry
from rackval.model import TestPoint
from rackval.plugin import rack_run, run_state
from rackval.station import InstrumentSpec, Station, Wiring


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


def _instrument_kinds(station: Station) -> dict[str, str]:
    return {
        name: getattr(registry.load(registry.DRIVERS, spec.driver), "kind", "instrument")
        for name, spec in station.instruments.items()
    }


@pytest.hookimpl(trylast=True)  # after rackval's core plugin has built the run configuration
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "wired(instrument=KIND, test_point=KIND): only station instruments/wiring of these kinds",
    )
    state = run_state(config)
    if state is not None and state.config.station is not None:
        station = state.config.station
        config.stash[STATE] = StationState(station, _instrument_kinds(station))


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
    rack_state = rack_run(config)
    points = []
    for name, wire in st.station.wiring.items():
        spec = rack_state.config.rack.test_points.get(wire.test_point) if rack_state else None
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


@pytest.fixture(scope="session")
def instruments(request: pytest.FixtureRequest, station: Station) -> Iterator[Bench]:
    """The station's instrument drivers by name; all left in their safe state at session end.

    In a rack run they are the rack session's (reached through the simulated
    rack under ``--sim``, closed with it); without a rack, a registry of the bench alone.
    """
    if rack_run(request.config) is not None:
        session = request.getfixturevalue("rack")  # starts the simulated rack under --sim
        yield Bench(session.devices)
        return
    devices = DeviceRegistry(None, station)
    try:
        yield Bench(devices)
    finally:
        devices.close()
