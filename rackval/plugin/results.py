"""pytest plugin: record a rackval run in the results store as it happens; export it at the end.

Active only in a rack run. Options (declared by :mod:`rackval.plugin.core`):
``--results-db URL`` (default SQLite under
``--results-dir``), ``--retest RUN`` (run only what failed or errored in RUN),
and ``--NAME FILE`` per report format
(:mod:`rackval.results.exporters`: ``--junit``, ``--ocptv``, ``--html``...).
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from rackval.items import item_of
from rackval.measurement import Measurement
from rackval.plugin import RunState, rack_run
from rackval.results.exporters import export
from rackval.results.store import ResultsStore, StoreError, TestRecord, redact
from rackval.run import RunInfo


@pytest.hookimpl(trylast=True)  # after rackval's core plugin has built the run configuration
def pytest_configure(config: pytest.Config) -> None:
    state = rack_run(config)
    if state is None:
        return
    if getattr(config, "workerinput", None) is not None:
        return  # an xdist worker: the controller records
    try:
        store = ResultsStore.open(state.config.results_db, state.run.results_dir)
        retest = state.config.retest
        failed = None
        if retest:
            retest = store.resolve_run_id(retest)
            failed = store.failed_nodeids(retest)
    except StoreError as exc:
        raise pytest.UsageError(str(exc)) from None
    recorder = Recorder(config, state, store, retest, failed)
    config.pluginmanager.register(recorder, "rackval-results-recorder")


def pytest_unconfigure(config: pytest.Config) -> None:
    recorder = config.pluginmanager.get_plugin("rackval-results-recorder")
    if recorder is not None:
        config.pluginmanager.unregister(recorder)
        recorder.store.close()


@dataclass
class _Pending:
    """The phases of one test seen so far (setup, call, teardown)."""

    started: float
    outcome: str = "passed"
    duration: float = 0.0
    message: str | None = None


def item_info(item: pytest.Item) -> tuple[str | None, str | None, str | None]:
    """(kind, id, device) of the rack item a test is parametrized over, if any."""
    for value in item_of(item):
        return value.kind, value.id, value.device
    return None, None, None


def short_message(report: pytest.TestReport) -> str | None:
    """The one-line-ish reason of a failure, error or skip."""
    longrepr = report.longrepr
    if longrepr is None:
        return None
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message)
    return str(longrepr).strip()


def run_outcome(outcomes: list[str], exitstatus: int) -> str:
    """pass/fail/error/aborted of a run from its tests' outcomes and pytest's exit status."""
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "aborted"
    if exitstatus in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        return "error"
    if "failed" in outcomes:
        return "fail"
    if "error" in outcomes:
        return "error"
    return "pass"


class Recorder:
    """Hook implementations bound to one session's store and run."""

    def __init__(
        self,
        config: pytest.Config,
        state: RunState,
        store: ResultsStore,
        retest_of: str | None,
        failed: set[str] | None,
    ) -> None:
        self.config = config
        self.state = state
        self.store = store
        self.retest_of = retest_of
        self.failed = failed
        self.run: RunInfo | None = None
        self.items: dict[str, tuple[str | None, str | None, str | None]] = {}
        self.pending: dict[str, _Pending] = {}
        self.outcomes: list[str] = []
        self.export_errors: list[str] = []

    # -- the run -----------------------------------------------------------------

    @pytest.hookimpl
    def pytest_rackval_run_started(self, run: RunInfo) -> None:
        if self.retest_of:
            run.retest_of = self.retest_of
        self.run = run
        command_line = self.state.config.command_line or shlex.join(
            [sys.executable, "-m", "pytest", *self.config.invocation_params.args]
        )
        self.store.start_run(run, rack=self.state.config.rack, command_line=command_line)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if self.failed is not None:
            keep = [i for i in items if i.nodeid in self.failed]
            dropped = [i for i in items if i.nodeid not in self.failed]
            if dropped:
                config.hook.pytest_deselected(items=dropped)
                items[:] = keep
            missing = self.failed - {i.nodeid for i in keep}
            if missing:
                tr = config.pluginmanager.get_plugin("terminalreporter")
                if tr is not None:
                    tr.write_line(
                        f"rackval: {len(missing)} test(s) that failed in {self.retest_of} were not "
                        f"collected this time: {', '.join(sorted(missing)[:5])}",
                        yellow=True,
                    )
        self.items = {i.nodeid: item_info(i) for i in items}
        if self.run is not None:
            suites = sorted({i.nodeid.split("::", 1)[0] for i in items})
            if not self.run.suites:
                self.run.suites = suites
                self.store.update_run(self.run.run_id, suites=suites)

    @pytest.hookimpl
    def pytest_rackval_measurement(self, measurement: Measurement, nodeid: str) -> None:
        if self.run is not None:
            self.store.record_measurement(self.run.run_id, nodeid, measurement)

    @pytest.hookimpl
    def pytest_rackval_sync(self) -> None:
        """Before the display shows outcomes: flush what was recorded (one fsync for all)."""
        self.store.sync()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.run is None:
            return
        start = getattr(report, "start", None) or datetime.now(UTC).timestamp()
        pending = self.pending.setdefault(report.nodeid, _Pending(started=start))
        pending.duration += report.duration
        message = short_message(report)
        if report.failed:
            # a failing call is "failed"; a failing setup or teardown alone is an error
            if pending.outcome in ("passed", "skipped"):
                pending.outcome = "failed" if report.when == "call" else "error"
                pending.message = message
            elif message:
                pending.message = f"{pending.message}; {report.when}: {message}"
        elif report.skipped and pending.outcome == "passed":
            pending.outcome = "skipped"
            pending.message = message
        if report.when == "teardown":
            self._record(report, self.pending.pop(report.nodeid))

    def _record(self, report: pytest.TestReport, pending: _Pending) -> None:
        kind, item_id, device = self.items.get(report.nodeid, (None, None, None))
        stop = getattr(report, "stop", None) or datetime.now(UTC).timestamp()
        test = TestRecord(
            nodeid=report.nodeid,
            suite=report.nodeid.split("::", 1)[0],
            outcome=pending.outcome,
            duration_s=pending.duration,
            message=pending.message,
            started_at=datetime.fromtimestamp(pending.started, UTC),
            finished_at=datetime.fromtimestamp(stop, UTC),
            item_kind=kind,
            item_id=item_id,
            device=device,
        )
        self.outcomes.append(test.outcome)
        self.store.record_test(self.run.run_id, test)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.run is None:
            return
        outcome = run_outcome(self.outcomes, int(exitstatus))
        self.store.finish_run(self.run.run_id, outcome, exit_status=int(exitstatus))
        self.outcome = outcome
        for fmt, target in self.state.config.reports.items():
            try:
                export(self.store, self.run.run_id, fmt, target)
            except Exception as exc:  # the run is stored; say what could not be written
                self.export_errors.append(f"could not write the {fmt} report to {target}: {exc}")
        if self.export_errors and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.run is None:
            return
        outcome = getattr(self, "outcome", "running")
        terminalreporter.write_sep("-", "rackval results")
        terminalreporter.write_line(
            f"run {self.run.run_id} ({self.run.rack_serial}): {outcome.upper()}"
            f"{f', retest of {self.retest_of}' if self.retest_of else ''} "
            f"-> {redact(self.store.url)}"
        )
        for problem in self.export_errors:
            terminalreporter.write_line(f"rackval: {problem}", red=True)
