"""What a technician sees during ``rackval run``: live progress, failures, a PASS/FAIL banner.

A pytest plugin object the CLI registers. On a terminal it draws a rich live
display (suite, item, counts, elapsed, estimate) and prints each failure above
it as it happens; elsewhere (CI, a pipe) it prints plain lines. At the end it
prints a large PASS or FAIL banner with the rack serial, the failures grouped
by device and where results were written.

It writes to its own duplicate of the terminal's file descriptor, taken before
pytest starts capturing, so the display keeps updating while tests run with
their output captured.

The screen is updated at a bounded rate, not per test: a test's end only
updates counters and queues its lines; a ticker thread shows what is queued at
most every ``REFRESH_S``. Before it shows anything it asks the results store to
make those outcomes durable (the ``pytest_rackval_sync`` hook): what the
technician sees has survived a power cut, and one fsync covers every outcome
of the interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TextIO

import pytest
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from rackval.items import devices_used
from rackval.journal import journal_path
from rackval.suites import suite_of

Mode = Literal["live", "plain", "banner"]

# the most often the screen changes while tests run (failures, counts, progress lines)
REFRESH_S = 0.1

FONT = {
    "P": ["#### ", "#   #", "#### ", "#    ", "#    "],
    "A": [" ### ", "#   #", "#####", "#   #", "#   #"],
    "S": [" ####", "#    ", " ### ", "    #", "#### "],
    "F": ["#####", "#    ", "#### ", "#    ", "#    "],
    "I": ["#####", "  #  ", "  #  ", "  #  ", "#####"],
    "L": ["#    ", "#    ", "#    ", "#    ", "#####"],
}


def big(word: str, block: str = "#") -> str:
    """``word`` in 5-line block letters (only the letters of PASS and FAIL are drawn)."""
    rows = ["  ".join(FONT[ch][r] for ch in word) for r in range(5)]
    return "\n".join(row.replace("#", block).rstrip() for row in rows)


@dataclass
class TestInfo:
    __test__ = False

    nodeid: str
    suite: str
    name: str  # test name with its parameters, e.g. test_outlet_current[pdu-a/3]
    devices: list[str]


@dataclass
class Failure:
    test: TestInfo
    message: str
    when: str  # setup, call, teardown


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def done(self) -> int:
        return self.passed + self.failed + self.skipped


@dataclass
class RunOutcome:
    """What the banner summarised (also read by the CLI for its exit code)."""

    verdict: str = ""  # PASS, FAIL, NOT READY, INTERRUPTED, ERROR
    counts: Counts = field(default_factory=Counts)
    failures: list[Failure] = field(default_factory=list)


def failure_message(report: pytest.TestReport) -> str:
    """The one line a technician needs (the measurement's message, not a traceback)."""
    longrepr = report.longrepr
    if isinstance(longrepr, str):
        text = longrepr
    elif isinstance(longrepr, tuple):  # (path, line, message) of a skip
        text = str(longrepr[2])
    else:
        crash = getattr(longrepr, "reprcrash", None)
        text = crash.message if crash is not None else report.longreprtext
    text = text.strip()
    for prefix in ("Failed: ", "Skipped: "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.splitlines()[0] if text else "(no message)"


def silence_pytest(config: pytest.Config) -> None:
    """Drop pytest's own terminal reporter (its options stay defined, so addopts still parse)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        config.pluginmanager.unregister(reporter)


def _devices_of(item: pytest.Item) -> list[str]:
    return sorted(devices_used([item]))


def _duration(seconds: float) -> str:
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """The run display. ``mode``: live (rich, a terminal), plain (lines), banner (only the end)."""

    name = "rackval-progress"

    def __init__(
        self,
        stream: TextIO,
        mode: Mode | None = None,
        *,
        reports: list[str] | None = None,
        results: str | None = None,
        quiet_pytest: bool = False,
    ) -> None:
        self.console = Console(file=stream, highlight=False, soft_wrap=False)
        self.mode: Mode = mode or ("live" if self.console.is_terminal else "plain")
        if self.mode != "live":
            self.console = Console(file=stream, highlight=False, color_system=None, width=200)
        self.quiet_pytest = quiet_pytest
        self.reports = reports or []
        self.results = results
        self.outcome = RunOutcome()
        self.tests: dict[str, TestInfo] = {}
        self.total = 0
        self.current: TestInfo | None = None
        self.status = "collecting"
        self.run: Any = None  # rackval.run.RunInfo once the run starts
        self.collection_errors: list[str] = []
        self.interrupted = False
        self.preflight: Any = None  # rackval.preflight.Readiness
        self._phase_outcome: dict[str, tuple[str, str, str]] = {}
        self._started = time.monotonic()
        self._live: Live | None = None
        self._next_plain_tenth = 1
        self._suites_seen: set[str] = set()
        self._suite_sizes: dict[str, int] = {}
        self.shown = Counts()  # the counts on the screen: durable, at most REFRESH_S old
        self._queued: list[tuple[str, str | None]] = []  # lines not yet shown, in order
        self._dirty = False
        self._lock = threading.Lock()  # the queue and counts (test thread vs ticker)
        self._show_lock = threading.Lock()  # one flush at a time, in order
        self._sync: Any = lambda: None  # makes recorded outcomes durable (pytest_rackval_sync)
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    # -- output helpers --------------------------------------------------------
    def _line(self, text: str, style: str | None = None) -> None:
        if self.mode == "live":
            self.console.print(text, style=style, markup=False)
        else:
            self.console.print(text, markup=False, soft_wrap=True)

    def _queue(self, text: str, style: str | None = None) -> None:
        with self._lock:
            self._queued.append((text, style))
            self._dirty = True

    def flush(self) -> None:
        """Show what is queued, after the store has made those outcomes durable."""
        with self._show_lock:
            with self._lock:
                if not self._dirty:
                    return
                self._dirty = False
                lines, self._queued = self._queued, []
                counts = replace(self.outcome.counts)
            self._sync()
            for text, style in lines:
                self._line(text, style=style)
            self.shown = counts
            if (
                self.mode == "plain"
                and self.total
                and counts.done * 10 >= self._next_plain_tenth * self.total
            ):
                # one line per tenth of the run crossed (several tenths in one tick: one line)
                self._next_plain_tenth = counts.done * 10 // self.total + 1
                self._plain_progress(counts)

    def _tick(self) -> None:
        while not self._stop.wait(REFRESH_S):
            self.flush()

    def _start_ticker(self) -> None:
        if self._ticker is None:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick, name="rackval-progress", daemon=True)
            self._ticker.start()

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None
        self.flush()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop redrawing (while an operator prompt owns the terminal)."""
        self.flush()
        live = self._live
        if live is None:
            yield
            return
        live.stop()
        self._live = None
        try:
            yield
        finally:
            self._live = self._new_live()
            self._live.start()

    def _new_live(self) -> Live:
        return Live(
            get_renderable=self._render,
            console=self.console,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def _estimate(self) -> str:
        done = self.shown.done
        if not done or not self.total:
            return "estimating"
        left = (time.monotonic() - self._started) / done * (self.total - done)
        return f"~{_duration(left)} left"

    def _render(self) -> Any:
        c = self.shown
        head = Text.assemble(
            ("rackval ", "bold"),
            f"rack {self.run.rack_serial if self.run else '?'}  ",
            f"elapsed {_duration(time.monotonic() - self._started)}  ",
            (self._estimate(), "cyan"),
        )
        if self.current is not None:
            where = Text.assemble(("suite ", "dim"), (self.current.suite, "bold"), "  ", self.current.name)
        else:
            where = Text(self.status, style="dim")
        counts = Table.grid(padding=(0, 2))
        counts.add_row(
            f"{c.done}/{self.total}",
            Text(f"passed {c.passed}", style="green"),
            Text(f"failed {c.failed}", style="bold red" if c.failed else "dim"),
            Text(f"skipped {c.skipped}", style="yellow" if c.skipped else "dim"),
            f"remaining {max(0, self.total - c.done)}",
        )
        return Group(head, where, counts)

    # -- called by the CLI and the pre-flight plugin ---------------------------
    def set_status(self, text: str) -> None:
        self.status = text
        if self.mode == "plain":
            self._line(text)

    def on_preflight(self, readiness: Any) -> None:
        from rackval.preflight import render

        self.preflight = readiness
        if readiness.ready:
            if self.mode != "banner":
                self._line(f"pre-flight: {len(readiness.checks)} device(s) ready", style="green")
            self.status = "running"
            return
        with self.paused():
            render(readiness, self.console)

    # -- pytest hooks -----------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        if self.quiet_pytest:
            silence_pytest(config)
        self._sync = config.hook.pytest_rackval_sync

    def pytest_rackval_run_started(self, run: Any) -> None:
        self.run = run

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            message = f"{report.nodeid or 'collection'}: {report.longreprtext.strip()}"
            self.collection_errors.append(message)
            self._line(f"ERROR collecting {message}", style="bold red")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            info = TestInfo(item.nodeid, suite_of(item), item.name, _devices_of(item))
            self.tests[item.nodeid] = info
            self._suite_sizes[info.suite] = self._suite_sizes.get(info.suite, 0) + 1
        self.total = len(session.items)
        suites = sorted({t.suite for t in self.tests.values()})
        serial = self.run.rack_serial if self.run else "?"
        self.status = "starting: connecting to the rack and checking it (pre-flight)"
        if self.mode == "banner":
            return
        self._line(f"rackval: rack {serial}: {self.total} tests in {', '.join(suites) or 'no suites'}")
        if self.mode == "live" and self.total:
            self._live = self._new_live()
            self._live.start()
        elif self.mode == "plain":
            self._line(self.status)
        self._start_ticker()

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.current = self.tests.get(nodeid)
        if self.mode == "plain" and self.current and self.current.suite not in self._suites_seen:
            self._suites_seen.add(self.current.suite)
            self._queue(f"suite {self.current.suite}: {self._suite_sizes.get(self.current.suite, 0)} tests")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        prev = self._phase_outcome.get(report.nodeid)
        if prev is not None and prev[0] == "failed":
            return  # first failure of a test is the one that counts
        if report.failed:
            self._phase_outcome[report.nodeid] = ("failed", failure_message(report), report.when)
        elif report.skipped:
            self._phase_outcome[report.nodeid] = ("skipped", failure_message(report), report.when)
        elif report.when == "call":
            self._phase_outcome[report.nodeid] = ("passed", "", report.when)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        outcome, message, when = self._phase_outcome.pop(nodeid, ("passed", "", "call"))
        info = self.tests.get(nodeid) or TestInfo(nodeid, "?", nodeid.split("::")[-1], [])
        counts = self.outcome.counts
        with self._lock:
            self._dirty = True
            if outcome == "failed":
                counts.failed += 1
                self.outcome.failures.append(Failure(info, message, when))
                if self.mode != "banner":
                    where = "" if when == "call" else f" ({when})"
                    text = f"FAIL [{counts.done}/{self.total}] {info.suite} {info.name}{where}: {message}"
                    self._queued.append((text, "red"))
            elif outcome == "skipped":
                counts.skipped += 1
            else:
                counts.passed += 1

    def _plain_progress(self, c: Counts) -> None:
        self._line(
            f"progress: {c.done}/{self.total} done, {c.passed} passed, {c.failed} failed, "
            f"{c.skipped} skipped, elapsed {_duration(time.monotonic() - self._started)}, "
            f"{self._estimate()}"
        )

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.interrupted = isinstance(excinfo.value, KeyboardInterrupt)

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Any:
        """The banner, once everything else at the end of the session has run.

        A wrapper, because an interrupted test's fixtures are torn down (its outlets
        and instruments put back) only inside this hook, by pytest's runner; and the
        results recorder stores the run's end here too. The banner says what became
        of the rack, so it comes after both, and still comes if the teardown raised.
        """
        teardown_problem: str | None = None
        try:
            return (yield)
        except KeyboardInterrupt:  # a second Ctrl-C: what was being put back may not be
            teardown_problem = "interrupted again while the rack was being put back"
            raise
        except BaseException as exc:  # a restore that failed (pytest.fail is a BaseException)
            teardown_problem = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise
        finally:
            self._stop_ticker()
            if self._live is not None:
                self._live.stop()
                self._live = None
            self.outcome.verdict = self._verdict(int(exitstatus))
            self._banner(session, teardown_problem)

    # -- the end ------------------------------------------------------------------
    def _verdict(self, exitstatus: int) -> str:
        from rackval.preflight import PYTEST_EXIT_NOT_READY

        if self.interrupted:
            return "INTERRUPTED"
        if exitstatus == PYTEST_EXIT_NOT_READY:
            return "NOT READY"
        if self.collection_errors or exitstatus not in (0, 1, 5):
            return "ERROR"
        if exitstatus == 5 or not self.total:
            return "NOTHING RUN"
        return "FAIL" if self.outcome.failures else "PASS"

    def _banner(self, session: pytest.Session, teardown_problem: str | None = None) -> None:
        verdict = self.outcome.verdict
        c = self.outcome.counts
        run = self.run
        lines: list[str] = []
        if run is not None:
            lines.append(f"rack {run.rack_serial} ({run.rack_model})   run {run.run_id}")
        lines.append(
            f"{c.passed} passed, {c.failed} failed, {c.skipped} skipped"
            + (f", {self.total - c.done} not run" if self.total > c.done else "")
            + f" in {_duration(time.monotonic() - self._started)}"
        )
        if verdict == "NOT READY" and self.preflight is not None:
            lines.append("the rack is not ready; nothing was tested:")
            lines += [f"  {p}" for p in self.preflight.problems]
        for device, failures in self.failures_by_device().items():
            lines.append(f"{device}: {len(failures)} failed")
            lines += [f"  - {f.test.name}: {f.message}" for f in failures]
        for problem in self.collection_errors:
            lines.append(f"error: {problem.splitlines()[0]}")
        if self.results:
            lines.append(f"results: {self.results}")
        if run is not None:
            lines.append(f"journal: {journal_path(Path(run.results_dir), run.rack_serial, run.run_id)}")
        if teardown_problem is not None:
            lines.append(f"NOT PUT BACK: {teardown_problem}")
            lines.append("finish with: rackval restore RACK.yaml (the journal says what is left)")
        lines += [f"report: {r}" for r in self.reports]
        color = {"PASS": "green", "FAIL": "red"}.get(verdict, "yellow")
        if self.mode == "live":
            title = Text(big(verdict, "█") if verdict in ("PASS", "FAIL") else verdict, style=f"bold {color}")
            body = Text("\n".join(lines))
            self.console.print(Panel(Group(title, Text(""), body), border_style=color, expand=False))
        else:
            rule = "=" * 60
            self._line(("\n" if self.mode == "banner" else "") + rule)
            self._line(big(verdict) if verdict in ("PASS", "FAIL") else f"*** {verdict} ***")
            self._line(f"RESULT: {verdict}")
            for line in lines:
                self._line(line)
            self._line(rule)
        self.console.file.flush()

    def failures_by_device(self) -> dict[str, list[Failure]]:
        grouped: dict[str, list[Failure]] = {}
        for f in self.outcome.failures:
            for device in f.test.devices or ["rack"]:
                grouped.setdefault(device, []).append(f)
        return dict(sorted(grouped.items()))
