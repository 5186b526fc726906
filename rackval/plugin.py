"""rackval's pytest plugin: options, the ``rack`` session, item parametrization, ``measure``.

Hooks live here; fixtures are thin and call plain functions elsewhere
(:mod:`rackval.session`, :mod:`rackval.items`, :mod:`rackval.measurement`).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drivers.errors import DeviceError
from rackval import hookspecs
from rackval.errors import ConfigError
from rackval.items import ITEM_KINDS, Item, items_of
from rackval.journal import journal_path
from rackval.limits import Limit, LimitsFile, load_limits
from rackval.measurement import Measurement, judge
from rackval.model import Rack, load_rack, resolve_include
from rackval.run import RunInfo
from rackval.session import FATAL_DEVICE_ERRORS, RackSession


@dataclass
class RackvalState:
    """Everything the plugin knows for this pytest session (kept in ``config.stash``)."""

    rack: Rack
    limits: LimitsFile
    limits_path: Path
    scenarios: list[Path]
    simulate: bool
    endpoints_file: Path | None
    devices: set[str]
    run: RunInfo
    session: RackSession | None = None
    sim: Any = None  # rackval.simprocess.SimProcess when simulating
    measurements: dict[str, list[Measurement]] = field(default_factory=dict)


STATE = pytest.StashKey[RackvalState]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rackval", "rack validation")
    group.addoption("--rack", metavar="FILE", help="rack file describing the rack under test")
    group.addoption(
        "--sim",
        action="append",
        nargs="?",
        const="",
        metavar="SCENARIO",
        help="start a simulated rack for the session, optionally with a scenario (repeatable)",
    )
    group.addoption(
        "--endpoints",
        metavar="FILE",
        help="use a simulated rack that is already running (the file `rackval sim --ready-file` wrote)",
    )
    group.addoption("--limits", metavar="FILE", help="limits file (default: the rack file's)")
    group.addoption(
        "--device",
        action="append",
        default=[],
        metavar="NAME",
        help="only test items of this device",
    )
    group.addoption("--operator", default=os.environ.get("RACKVAL_OPERATOR", "unknown"))
    group.addoption("--station-id", default=os.environ.get("RACKVAL_STATION", "unconfigured"))
    group.addoption("--results-dir", default=os.environ.get("RACKVAL_RESULTS_DIR", "results"))
    group.addoption(
        "--test-timeout",
        type=float,
        default=float(os.environ.get("RACKVAL_TEST_TIMEOUT", "120")),
        metavar="SECONDS",
        help="overall time limit of each rack test (default 120 s)",
    )
    group.addoption(
        "--soak-seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="error-counter soak interval of the network suite (default: the suite's, 2 s)",
    )
    group.addoption("--run-id", default=None, help="use this run id (for tools that start the run)")


def _load_state(config: pytest.Config) -> RackvalState | None:
    rack_file = config.getoption("--rack")
    if not rack_file:
        return None
    rack = load_rack(rack_file)
    limits_ref = config.getoption("--limits")
    limits_path = (
        Path(limits_ref).resolve()
        if limits_ref
        else resolve_include(rack.base_dir, rack.limits, what=f"{Path(rack_file).name}: limits")
    )
    limits = load_limits(limits_path)
    sim_values = config.getoption("--sim") or []
    devices = set(config.getoption("--device") or [])
    unknown = devices - set(rack.devices)
    if unknown:
        raise ConfigError(f"--device: no device named {', '.join(sorted(unknown))} in {rack_file}")
    run = RunInfo(
        rack_serial=rack.rack.serial,
        rack_model=rack.rack.model,
        plan_version=rack.rack.plan_version,
        limits_file=str(limits_path),
        limits_version=limits.version,
        station_id=config.getoption("--station-id"),
        operator_id=config.getoption("--operator"),
        results_dir=Path(config.getoption("--results-dir")),
    )
    if config.getoption("--run-id"):
        run.run_id = config.getoption("--run-id")
    return RackvalState(
        rack=rack,
        limits=limits,
        limits_path=limits_path,
        scenarios=[Path(s).resolve() for s in sim_values if s],
        simulate=bool(sim_values),
        endpoints_file=Path(config.getoption("--endpoints")) if config.getoption("--endpoints") else None,
        devices=devices,
        run=run,
    )


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    # SIGTERM (a station shutting down, CI cancelling) runs the same teardown
    # as Ctrl-C: every destructive test's finalizer restores the rack.
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "destructive: changes the rack's state; restores it in teardown")
    try:
        state = _load_state(config)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if state is None:
        return
    config.stash[STATE] = state
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)


def rackval_state(config: pytest.Config) -> RackvalState | None:
    return config.stash.get(STATE, None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    kinds = [name for name in ITEM_KINDS if name in metafunc.fixturenames]
    if not kinds:
        return
    state = rackval_state(metafunc.config)
    for kind in kinds:
        items = items_of(state.rack, kind, state.devices) if state else []
        metafunc.parametrize(kind, items, ids=[i.id for i in items])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every rack test an overall time limit (pytest-timeout, signal method).

    The signal method raises inside the test, so its teardown still restores
    the rack and its result is still recorded; a test may set its own
    ``@pytest.mark.timeout``.
    """
    state = rackval_state(config)
    if state is None:
        return
    limit = config.getoption("--test-timeout")
    for item in items:
        if item.get_closest_marker("timeout") is None and _item_devices(item):
            item.add_marker(pytest.mark.timeout(limit, method="signal"))


def pytest_sessionstart(session: pytest.Session) -> None:
    state = rackval_state(session.config)
    if state is not None:
        session.config.hook.pytest_rackval_run_started(run=state.run)


# -- fixtures ----------------------------------------------------------------


def _start_session(config: pytest.Config, state: RackvalState) -> RackSession:
    overlay = None
    if state.endpoints_file is not None:
        info = json.loads(state.endpoints_file.read_text())
        overlay = info["devices"]
        state.run.scenario = info.get("scenario")
    elif state.simulate:
        from rackval.simprocess import start_sim_process

        station = config.getoption("--station", default=None)  # rackval.station_plugin's option
        state.sim = start_sim_process(
            state.rack.source, state.scenarios, station=Path(station).resolve() if station else None
        )
        overlay = state.sim.overlay
        state.run.scenario = state.sim.info.get("scenario")
    journal = journal_path(state.run.results_dir, state.rack.rack.serial, state.run.run_id)
    return RackSession(state.rack, overlay, journal_path=journal)


@pytest.fixture(scope="session")
def rack(request: pytest.FixtureRequest) -> Iterator[RackSession]:
    """The rack under test: drivers per device (lazily connected) and snapshots."""
    state = rackval_state(request.config)
    if state is None:
        raise pytest.UsageError("this test needs a rack: pass --rack FILE (and --sim to simulate it)")
    state.session = _start_session(request.config, state)
    try:
        yield state.session
    finally:
        state.session.close()
        if state.sim is not None:
            state.sim.stop()


@pytest.fixture(scope="session")
def limits(request: pytest.FixtureRequest) -> LimitsFile:
    state = rackval_state(request.config)
    if state is None:
        raise pytest.UsageError("this test needs a rack: pass --rack FILE")
    return state.limits


class Measure:
    """Record a measurement and fail the test when it is out of limits.

    ``measure("outlet_current", 2.4, item=outlet, units="A", limit=Limit(low=1.5, high=3.5))``;
    without ``limit`` the limit named like the measurement is taken from the limits file.
    """

    def __init__(self, request: pytest.FixtureRequest, state: RackvalState) -> None:
        self._request = request
        self._state = state
        self.taken: list[Measurement] = []
        self._labels: dict[int, str] = {}

    def __call__(
        self,
        name: str,
        value: Any,
        *,
        item: Item | str,
        device: str | None = None,
        units: str | None = None,
        limit: Limit | None = None,
        fail: bool = True,
    ) -> Measurement:
        item_id = item.id if isinstance(item, Item) else item
        label = item.label if isinstance(item, Item) else item_id
        device = device or (item.device if isinstance(item, Item) else item_id.split("/", 1)[0])
        limit = limit if limit is not None else self._state.limits.get(name)
        m = judge(name, value, limit=limit, device=device, item=item_id, units=units)
        self.taken.append(m)
        node = self._request.node
        self._state.measurements.setdefault(node.nodeid, []).append(m)
        node.user_properties.append((f"measurement:{name}", f"{m.value} {m.units}".strip()))
        self._request.config.hook.pytest_rackval_measurement(measurement=m, nodeid=node.nodeid)
        self._labels[id(m)] = label
        if fail and m.outcome == "fail":
            pytest.fail(self._failure_text(m), pytrace=False)
        return m

    def _failure_text(self, m: Measurement) -> str:
        value_text = f"{m.value:g}" if isinstance(m.value, float) else str(m.value)
        unit = f" {m.units}" if m.units and not isinstance(m.value, str) else ""
        label = self._labels.get(id(m), m.item)
        return f"{label}: {m.name} = {value_text}{unit}, expected {m.limit.describe()}"

    def verdict(self) -> None:
        """Fail the test if any measurement taken with ``fail=False`` is out of limits."""
        failed = [self._failure_text(m) for m in self.taken if m.outcome == "fail"]
        if failed:
            pytest.fail("; ".join(failed), pytrace=False)


@pytest.fixture
def measure(request: pytest.FixtureRequest) -> Measure:
    state = rackval_state(request.config)
    if state is None:
        raise pytest.UsageError("this test needs a rack: pass --rack FILE")
    return Measure(request, state)


class Restorer:
    """Undo stack for a destructive test: journal the change, restore it in teardown."""

    def __init__(self, session: RackSession) -> None:
        self._session = session
        self._undo: list[tuple[Any, Any]] = []

    def outlet(self, device: str, index: int) -> None:
        """Remember outlet ``index``'s current state; it is put back after the test."""
        pdu = self._session.driver(device)
        before = pdu.outlet(index).state
        change = (
            self._session.journal.begin(device, "outlet", index, before) if self._session.journal else None
        )

        def undo() -> None:
            pdu.set_outlet(index, before)
            self._session.invalidate(device)
            if change is not None:
                self._session.journal.restored(change)

        self._undo.append((f"{device} outlet {index} -> {before}", undo))

    def add(self, description: str, undo: Any) -> None:
        """Register any other undo action (instrument outputs...)."""
        self._undo.append((description, undo))

    def run(self) -> list[str]:
        """Undo everything, newest first; a failing undo does not stop the others.

        An interrupt (Ctrl-C, SIGTERM) arriving meanwhile is re-raised once every
        undo has been tried, so the run still stops as the operator asked.
        """
        problems = []
        interrupt: BaseException | None = None
        while self._undo:
            description, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:  # keep restoring the rest, report it
                problems.append(f"could not restore {description}: {exc}")
            except BaseException as exc:  # Ctrl-C / SIGTERM: the journal keeps what is left
                interrupt = interrupt or exc
        if interrupt is not None:
            raise interrupt
        return problems


@pytest.fixture
def restore(rack: RackSession) -> Iterator[Restorer]:
    """For destructive tests: ``restore.outlet(device, n)`` before changing outlet n."""
    restorer = Restorer(rack)
    try:
        yield restorer
    finally:
        problems = restorer.run()
        if problems:
            pytest.fail("; ".join(problems), pytrace=False)


# -- reporting ---------------------------------------------------------------


def _item_devices(item: pytest.Item) -> set[str]:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return {p.device for p in params.values() if isinstance(p, Item)}


def _with_item(item: pytest.Item, message: str) -> str:
    """Prefix ``message`` with the rack items the test is about, unless it names them already.

    A device error names the device and operation; the technician also needs
    the item (outlet, port, test point) the failing test was checking.
    """
    params = getattr(getattr(item, "callspec", None), "params", {})
    labels = [p.label for p in params.values() if hasattr(p, "label") and hasattr(p, "id")]
    missing = [label for label in labels if label not in message]
    return f"{', '.join(missing)}: {message}" if missing else message


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """Fail at once a test whose device already proved unreachable this session."""
    state = rackval_state(item.config)
    if state is None or state.session is None:
        return
    for device in _item_devices(item):
        error = state.session.broken(device)
        if error is not None:
            pytest.fail(_with_item(item, f"{error} (earlier in this run; not retried)"), pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport | None:
    """A device or config problem is a message for a technician, not a traceback.

    Built here directly: pytest would first format a full traceback (tens of
    milliseconds per test) only for it to be thrown away.
    """
    excinfo = call.excinfo
    if excinfo is None or not isinstance(excinfo.value, DeviceError | ConfigError):
        return None
    error = excinfo.value
    state = rackval_state(item.config)
    if isinstance(error, FATAL_DEVICE_ERRORS) and state and state.session:
        state.session.mark_broken(error.device, error)
    sections = [(f"Captured {key} {when}", content) for when, key, content in item._report_sections]
    return pytest.TestReport(
        item.nodeid,
        item.location,
        dict.fromkeys(item.keywords, 1),
        "failed",
        _with_item(item, str(error)),
        call.when,
        sections,
        call.duration,
        call.start,
        call.stop,
        user_properties=item.user_properties,
    )
