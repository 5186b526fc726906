"""rackval's pytest plugin: options, the ``rack`` session, item parametrization, ``measure``.

Hooks live here; fixtures are thin and call plain functions elsewhere
(:mod:`rackval.session`, :mod:`rackval.items`, :mod:`rackval.measurement`).
"""

from __future__ import annotations

import json
import signal
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.errors import DeviceError
from rackval import heap, hookspecs
from rackval.config import RunConfig, build_run_config
from rackval.devices import import_drivers
from rackval.errors import ConfigError
from rackval.items import Item, devices_used, item_kinds, item_of, items_of
from rackval.journal import Change, journal_path
from rackval.limits import Limit, LimitsFile
from rackval.measurement import Measurement, judge
from rackval.plugin import RUN_STATE, RunState, rack_run
from rackval.results.exporters import exporters
from rackval.safestate import describe
from rackval.session import FATAL_DEVICE_ERRORS, RackSession


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Every option of rackval's plugins (defaults from the environment: :mod:`rackval.config`)."""
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
    group.addoption("--station", metavar="FILE", help="station file (default: the rack file's station:)")
    group.addoption(
        "--device",
        action="append",
        default=[],
        metavar="NAME",
        help="only test items of this device",
    )
    group.addoption("--operator", default=None, help="operator id (default: $RACKVAL_OPERATOR)")
    group.addoption(
        "--station-id", default=None, help="station id (default: $RACKVAL_STATION, the station's)"
    )
    group.addoption(
        "--results-dir", default=None, help="results folder (default: $RACKVAL_RESULTS_DIR, results)"
    )
    group.addoption(
        "--test-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="overall time limit of each rack test (default: $RACKVAL_TEST_TIMEOUT, 120 s)",
    )
    group.addoption("--run-id", default=None, help="use this run id (for tools that start the run)")
    group.addoption(
        "--answers", metavar="FILE", default=None, help="answers to operator prompts (non-interactive runs)"
    )
    results = parser.getgroup("rackval-results", "rack validation results")
    results.addoption(
        "--results-db",
        metavar="URL",
        default=None,
        help="results database URL (default: sqlite:///<results-dir>/results.db; "
        "e.g. postgresql+psycopg://user@host/db)",
    )
    results.addoption("--retest", metavar="RUN", help="run only the tests that failed or errored in RUN")
    for exporter in exporters().values():
        results.addoption(
            f"--{exporter.name}", metavar="FILE", help=f"write {exporter.help or exporter.name}"
        )


def config_from_options(config: pytest.Config) -> RunConfig:
    """The run configuration of a plain ``pytest --rack FILE ...`` session."""
    opt = config.getoption
    rack_file = opt("--rack")
    reports = {name: Path(opt(f"--{name}")) for name in exporters() if opt(f"--{name}")}
    if not rack_file:
        given = [f"--{o}" for o in ("results-db", "retest") if opt(f"--{o}")] + [f"--{r}" for r in reports]
        if given:
            raise ConfigError(f"{', '.join(given)}: needs a rack run (--rack FILE)")
    sim_values = opt("--sim") or []
    return build_run_config(
        rack_file,
        limits=opt("--limits"),
        station_file=opt("--station"),
        scenarios=[Path(s) for s in sim_values if s],
        simulate=bool(sim_values),
        endpoints_file=opt("--endpoints"),
        devices=opt("--device") or [],
        results_dir=opt("--results-dir"),
        results_db=opt("--results-db"),
        reports=reports,
        retest=opt("--retest"),
        answers=opt("--answers"),
        operator=opt("--operator"),
        station_id=opt("--station-id"),
        test_timeout_s=opt("--test-timeout"),
        run_id=opt("--run-id"),
    )


def given_run_config(config: pytest.Config) -> RunConfig | None:
    """The RunConfig ``rackval run`` handed to ``pytest.main`` as a plugin object, if any."""
    return next((p for p in config.pluginmanager.get_plugins() if isinstance(p, RunConfig)), None)


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    # SIGTERM (a station shutting down, CI cancelling) runs the same teardown
    # as Ctrl-C: every destructive test's finalizer restores the rack.
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "destructive: changes the rack's state; restores it in teardown")
    try:
        run_config = given_run_config(config) or config_from_options(config)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    run = run_config.run_info() if run_config.rack is not None else None
    state = config.stash[RUN_STATE] = RunState(run_config, run)
    config.pluginmanager.register(rack_fixtures(config), "rackval-fixtures")
    if run is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    if run is not None:
        # registered now, so it runs after every cleanup other plugins add later
        # (pytest's own final collection among them): see pytest_sessionfinish
        config.add_cleanup(heap.release)
    simulated = run is not None and run_config.simulate and run_config.endpoints_file is None
    if simulated and not config.option.collectonly:
        from rackval.simprocess import launch_sim_process

        # its start-up overlaps collection; the ``rack`` fixture waits for it
        state.sim_launch = launch_sim_process(
            run_config.rack.source, run_config.scenarios, station=run_config.station_file
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the simulated rack and reap it (the ``rack`` fixture only asked it to stop, if it ran)."""
    state = rack_run(config)
    if state is not None:
        if state.sim is not None:
            state.sim.stop()
        elif state.sim_launch is not None:
            state.sim_launch.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize a test over the rack items its arguments name (``outlet``, ``port``, ``pdu``...)."""
    names = [name for name in item_kinds() if name in metafunc.fixturenames]
    if not names:
        return
    state = rack_run(metafunc.config)
    for name in names:
        items = items_of(state.config.rack, name, state.config.devices) if state else []
        metafunc.parametrize(name, items, ids=[i.id for i in items])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every rack test an overall time limit (pytest-timeout, signal method).

    The signal method raises inside the test, so its teardown still restores
    the rack and its result is still recorded; a test may set its own
    ``@pytest.mark.timeout``.
    """
    state = rack_run(config)
    if state is None:
        return
    for item in items:
        if item.get_closest_marker("timeout") is None and item_of(item):
            item.add_marker(pytest.mark.timeout(state.config.test_timeout_s, method="signal"))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep what collection built (items, rack model, modules) out of the tests' garbage collections."""
    state = rack_run(session.config)
    if state is not None:
        state.items = session.items
        heap.keep()


def pytest_sessionstart(session: pytest.Session) -> None:
    state = rack_run(session.config)
    if state is not None:
        session.config.hook.pytest_rackval_run_started(run=state.run)


@pytest.hookimpl(trylast=True)  # after the results plugin has stored the run and written its reports
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Spare what is left of the process the collector's walks over the whole finished run."""
    if rack_run(session.config) is not None:
        heap.settle()


# -- fixtures ----------------------------------------------------------------


def _start_session(state: RunState) -> RackSession:
    """Connect to the rack: a running simulated rack, one started for the session, or the real one."""
    config = state.config
    overlay = None
    if config.endpoints_file is not None:
        info = json.loads(config.endpoints_file.read_text())
        overlay = info["devices"]
        state.run.scenario = info.get("scenario")
    elif config.simulate:
        from rackval.simprocess import launch_sim_process

        launch = state.sim_launch or launch_sim_process(
            config.rack.source, config.scenarios, station=config.station_file
        )
        import_drivers(config.rack, config.station)  # while the simulated rack starts (~0.2 s)
        state.sim = launch.wait_ready()
        overlay = state.sim.overlay
        state.run.scenario = state.sim.info.get("scenario")
    journal = journal_path(state.run.results_dir, config.rack.rack.serial, state.run.run_id)
    return RackSession(config.rack, overlay, journal_path=journal, station=config.station)


def _needs_rack(config: pytest.Config) -> RunState:
    state = rack_run(config)
    if state is None:
        raise pytest.UsageError("this test needs a rack: pass --rack FILE (and --sim to simulate it)")
    return state


def read_ahead_devices(items: list[pytest.Item], rack: Any) -> list[str]:
    """Devices whose snapshots the session may read ahead (a read-only run only).

    The devices the selected tests are parametrized over, in the order the tests
    first use them; none when any selected test is destructive (a snapshot read
    ahead of a change would then show the rack from before it).
    """
    if any(item.get_closest_marker("destructive") is not None for item in items):
        return []
    return [d for d in devices_used(items) if d in rack.devices]


class Measure:
    """Record a measurement and fail the test when it is out of limits.

    ``measure("outlet_current", 2.4, item=outlet, units="A", limit=Limit(low=1.5, high=3.5))``;
    without ``limit`` the limit named like the measurement is taken from the limits file.
    """

    def __init__(self, node: pytest.Item, limits: LimitsFile) -> None:
        self._node = node
        self._limits = limits
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
        limit = limit if limit is not None else self._limits.get(name)
        m = judge(name, value, limit=limit, device=device, item=item_id, units=units)
        self.taken.append(m)
        node = self._node
        node.user_properties.append((f"measurement:{name}", f"{m.value} {m.units}".strip()))
        node.config.hook.pytest_rackval_measurement(measurement=m, nodeid=node.nodeid)
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


def rack_fixtures(config: pytest.Config) -> types.ModuleType:
    """The ``rack``, ``limits`` and ``measure`` fixtures of this session, bound to its config.

    ``pytest_configure`` registers the module returned as a plugin. Why closures
    and not module-level fixtures taking ``request``: pytest builds a new
    definition of the ``request`` fixture (an ``inspect.signature`` call) each
    time an item uses a fixture that takes it, even a cached session fixture.
    The hall rack's items used ~7 each, ~0.1 ms per item (issue #14,
    benchmarks/README.md, eighth round). ``measure`` records to the test now
    running (:func:`pytest_runtest_protocol` notes it).
    """

    @pytest.fixture(scope="session")
    def rack() -> Iterator[RackSession]:
        """The rack under test: drivers per device (lazily connected) and snapshots."""
        state = _needs_rack(config)
        state.session = _start_session(state)
        state.session.read_ahead(read_ahead_devices(state.items, state.config.rack))
        try:
            config.hook.pytest_rackval_rack_ready(rack=state.session, items=state.items, config=config)
            yield state.session
        finally:
            state.session.close()
            if state.sim is not None:
                state.sim.begin_stop()  # pytest_unconfigure waits for it

    @pytest.fixture(scope="session")
    def limits() -> LimitsFile:
        """The rack's limits file (``limits.get(name)``)."""
        return _needs_rack(config).config.limits

    @pytest.fixture
    def measure() -> Measure:
        """``measure(name, value, item=..., units=..., limit=...)``: record, and fail when out of limits."""
        state = _needs_rack(config)
        assert state.item is not None, "measure is a test's fixture"
        return Measure(state.item, state.config.limits)

    fixtures = types.ModuleType("rackval.plugin.core.rack_fixtures", rack_fixtures.__doc__)
    fixtures.rack, fixtures.limits, fixtures.measure = rack, limits, measure
    return fixtures


class Restorer:
    """Undo stack of one destructive test: each change is journaled first, put back in teardown.

    What a change is and how it is undone belongs to the device's kind
    (``rackval.kinds.DeviceKind.undo``): ``restore.change("pdu-a", "outlet", 7)``.
    """

    def __init__(self, session: RackSession) -> None:
        self._session = session
        self._undo: list[tuple[str, Callable[[], None]]] = []

    def change(self, device: str, what: str, target: Any) -> Change:
        """Remember what ``target`` of ``device`` is now; it is put back after the test."""
        change = self._session.safe_state.begin(device, what, target)
        self._undo.append((describe(change), lambda: self._session.safe_state.restore(change)))
        return change

    def outlet(self, device: str, index: int) -> None:
        """Remember outlet ``index``'s current state (``change(device, "outlet", index)``)."""
        self.change(device, "outlet", index)

    def add(self, description: str, undo: Callable[[], None]) -> None:
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


def _with_item(item: pytest.Item, message: str) -> str:
    """Prefix ``message`` with the rack items the test is about, unless it names them already.

    A device error names the device and operation; the technician also needs
    the item (outlet, port, test point) the failing test was checking.
    """
    params = getattr(getattr(item, "callspec", None), "params", {}).values()
    labels = [p.label for p in params if hasattr(p, "label") and hasattr(p, "id")]  # rack and bench items
    missing = [label for label in labels if label not in message]
    return f"{', '.join(missing)}: {message}" if missing else message


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> None:
    """Note the test now running, for ``measure`` (which then takes no ``request``)."""
    state = rack_run(item.config)
    if state is not None:
        state.item = item


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """Fail at once a test whose device already proved unreachable this session."""
    state = rack_run(item.config)
    if state is None or state.session is None:
        return
    for device in {i.device for i in item_of(item)}:
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
    state = rack_run(item.config)
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
