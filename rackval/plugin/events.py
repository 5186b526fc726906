"""pytest plugin: a run's live events as JSON lines, for the station's web page.

Active only in a rack run whose environment names a file in ``RACKVAL_EVENTS``
(the page sets it when it starts ``rackval run``). The results store keeps what
*happened*; this file also says what is happening *now* (the item running, the
number of items collected) and is cheap to tail: one line per event, written
and flushed as it happens, never rewritten. The page reads complete lines only.

Events (each has ``type`` and ``t``, seconds since the epoch):
``run`` (run id, rack serial/model, station, operator), ``collected`` (total and
per-suite counts), ``start`` (a test began), ``measurement`` (a failing one,
described against its limit), ``test`` (a test's outcome and message),
``finished`` (the run's outcome).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import IO, Any

import pytest

from rackval.measurement import Measurement
from rackval.plugin import rack_run
from rackval.plugin.results import item_info, run_outcome, short_message
from rackval.run import RunInfo

EVENTS_ENV = "RACKVAL_EVENTS"
PLUGIN_NAME = "rackval-events-writer"


def suite_of(nodeid: str) -> str:
    """The suite a test belongs to, as the page groups it: ``suites/power/test_power.py`` -> ``power``."""
    path = nodeid.split("::", 1)[0]
    parts = path.split("/")
    return parts[-2] if len(parts) >= 2 else parts[0]


class EventWriter:
    """Hook implementations appending one JSON line per event to an open file."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.items: dict[str, tuple[str | None, str | None, str | None]] = {}
        self.phases: dict[str, tuple[str, str | None]] = {}
        self.outcomes: list[str] = []

    def emit(self, kind: str, **fields: Any) -> None:
        self.stream.write(json.dumps({"type": kind, "t": time.time(), **fields}, default=str) + "\n")
        self.stream.flush()

    @pytest.hookimpl
    def pytest_rackval_run_started(self, run: RunInfo) -> None:
        self.emit(
            "run",
            run_id=run.run_id,
            rack_serial=run.rack_serial,
            rack_model=run.rack_model,
            station=run.station_id,
            operator=run.operator_id,
            scenario=run.scenario,
        )

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.items = {i.nodeid: item_info(i) for i in session.items}
        suites = Counter(suite_of(i.nodeid) for i in session.items)
        self.emit("collected", total=len(session.items), suites=dict(suites))

    @pytest.hookimpl
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.emit("start", nodeid=nodeid, suite=suite_of(nodeid))

    @pytest.hookimpl
    def pytest_rackval_measurement(self, measurement: Measurement, nodeid: str) -> None:
        if measurement.outcome != "pass":
            self.emit(
                "measurement",
                nodeid=nodeid,
                device=measurement.device,
                item=measurement.item,
                text=measurement.describe(),
            )

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome, message = self.phases.get(report.nodeid, ("passed", None))
        if report.failed and outcome in ("passed", "skipped"):
            outcome, message = ("failed" if report.when == "call" else "error"), short_message(report)
        elif report.skipped and outcome == "passed":
            outcome, message = "skipped", short_message(report)
        self.phases[report.nodeid] = (outcome, message)
        if report.when != "teardown":
            return
        del self.phases[report.nodeid]
        _kind, item, device = self.items.get(report.nodeid, (None, None, None))
        self.outcomes.append(outcome)
        self.emit(
            "test",
            nodeid=report.nodeid,
            suite=suite_of(report.nodeid),
            outcome=outcome,
            message=message,
            item=item,
            device=device,
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.emit("finished", outcome=run_outcome(self.outcomes, int(exitstatus)), exitstatus=int(exitstatus))


@pytest.hookimpl(trylast=True)  # after rackval's core plugin has built the run configuration
def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(EVENTS_ENV, "")
    if not path or rack_run(config) is None or getattr(config, "workerinput", None) is not None:
        return
    stream = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (closed in unconfigure)
    config.pluginmanager.register(EventWriter(stream), PLUGIN_NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    writer = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if writer is not None:
        config.pluginmanager.unregister(writer)
        writer.stream.close()
