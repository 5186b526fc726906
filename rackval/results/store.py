"""The results store: runs, tests and measurements, each recorded the moment it happens.

SQLite by default (``<results_dir>/results.db``, WAL mode), PostgreSQL when
given a URL. ``record_*`` queue the record and return; a writer thread
(:mod:`rackval.results.writer`) commits what is queued in one transaction
within ~100 ms (group commit; at once when someone syncs). :meth:`ResultsStore.sync` returns
when every record queued before it is committed and, on SQLite, flushed to
the disk (:class:`rackval.results.walsync.WalSync` fsyncs the WAL in groups;
PostgreSQL flushes each commit itself). The run calls it before it *reports*
anything (progress, FAIL lines, summary, its end, reports), so a SIGKILL can
lose only records no one has been shown yet, and a power cut only those of
the last ~100 ms, none reported (docs/results.md, "What a crash can
lose"). Reads through the store see its own queued records (they wait for the
writer first).

A run has no outcome until it ends; a reader shows a run whose process is
gone (or silent for too long) as ``aborted``.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import OperationalError

from rackval import kinds
from rackval.measurement import Measurement
from rackval.model import Rack
from rackval.results import schema as s
from rackval.results.database import BatchCommitter, Row, make_engine, redact
from rackval.results.walsync import WalSync
from rackval.results.writer import StoreError, Writer
from rackval.results.writer_process import WriterProcess
from rackval.run import RunInfo

RUN_OUTCOMES = ("pass", "fail", "error", "aborted")
TEST_OUTCOMES = ("passed", "failed", "error", "skipped")
# a run with no end whose process we cannot see (another station) and no record
# for this long is taken as dead
STALE_AFTER = timedelta(hours=12)


# -- records -------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    rack_serial: str
    rack_model: str
    plan_version: str
    station_id: str
    operator_id: str
    suites: list[str]
    suite_version: str
    limits_file: str
    limits_version: str
    rackval_version: str
    scenario: str | None
    retest_of: str | None
    rack_file: str | None
    rack_plan: dict[str, Any] | None
    command_line: str | None
    started_at: datetime
    ended_at: datetime | None
    outcome: str  # pass, fail, error, aborted, running
    stored_outcome: str | None  # what the run itself wrote at its end (None: it never ended)
    host: str | None = None
    pid: int | None = None


@dataclass(frozen=True)
class TestRecord:
    __test__ = False  # not a pytest test class

    nodeid: str
    suite: str
    outcome: str  # passed, failed, error, skipped
    duration_s: float
    message: str | None
    started_at: datetime
    finished_at: datetime
    item_kind: str | None = None
    item_id: str | None = None
    device: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class MeasurementRecord:
    nodeid: str
    name: str
    value: Any
    units: str
    limit: dict[str, Any] | None
    outcome: str
    device: str
    item: str
    timestamp: datetime
    run_id: str | None = None


@dataclass
class RunReport:
    """A stored run with everything an exporter needs."""

    run: RunRecord
    tests: list[TestRecord]
    measurements: list[MeasurementRecord]
    by_node: dict[str, list[MeasurementRecord]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_node = {}
        for m in self.measurements:
            self.by_node.setdefault(m.nodeid, []).append(m)

    @property
    def failures(self) -> list[TestRecord]:
        return [t for t in self.tests if t.outcome in ("failed", "error")]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(TEST_OUTCOMES, 0)
        for t in self.tests:
            counts[t.outcome] = counts.get(t.outcome, 0) + 1
        return counts

    def suites(self) -> dict[str, list[TestRecord]]:
        grouped: dict[str, list[TestRecord]] = {}
        for t in self.tests:
            grouped.setdefault(t.suite, []).append(t)
        return grouped

    def unfinished_nodes(self) -> list[str]:
        """Node ids that recorded measurements but no outcome (the run died during them)."""
        done = {t.nodeid for t in self.tests}
        return [n for n in self.by_node if n not in done]


# -- helpers -----------------------------------------------------------------


def utc(dt: datetime | None) -> datetime | None:
    """Aware UTC datetime (SQLite hands back naive datetimes; they were stored as UTC)."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _as_utc(dt: datetime) -> datetime:
    # aware UTC: PostgreSQL stores the instant; SQLite's text form is then UTC too
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def json_value(value: Any) -> Any:
    """A measured value as JSON can hold it (NaN/inf and odd types become text)."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def rack_plan(rack: Rack) -> dict[str, Any]:
    """The parts of the rack file the report's pictures need, kept with the run.

    Each device kind with a ``plan_key`` contributes its section (``pdus``, ``switches``...).
    """
    plan: dict[str, Any] = {}
    for name, device in rack.devices.items():
        kind = kinds.get(device.kind)
        if kind.plan_key and kind.plan:
            plan.setdefault(kind.plan_key, {})[name] = kind.plan(device)
    plan["power"] = [
        {"outlet": f.outlet, "load": f.load, "name": f.outlet_name, "phase": f.phase} for f in rack.power
    ]
    plan["cabling"] = [{"a": link.a, "b": link.b, "speed": link.speed} for link in rack.cabling]
    return plan


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name, or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return []
    return text.rsplit(")", 1)[1].split()


def process_start(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): with the pid, names it uniquely."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def process_alive(pid: int, start: str | None) -> bool:
    """Whether process ``pid`` (started at ``start``) is still running on this host."""
    if Path("/proc/self/stat").exists():
        fields = _proc_stat(pid)
        if fields is None:
            return False
        if not fields:
            return True
        if fields[0] in ("Z", "X"):  # killed, not yet reaped
            return False
        return start is None or len(fields) <= 19 or fields[19] == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def default_url(results_dir: str | Path) -> str:
    path = Path(results_dir).resolve() / "results.db"
    return f"sqlite:///{path}"


# -- the store -----------------------------------------------------------------


# limits whose stored form is kept for the next measurement judged by the same one. The
# cache keeps each limit alive (its id is the key), and a test that builds a limit per
# measurement (``Limit(expected="up")``) would otherwise keep every one for the whole run.
LIMIT_DUMPS_KEPT = 256


class ResultsStore:
    """Read and write runs. Records are committed in groups by a writer; :meth:`sync` waits."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self._writer: Writer | None = None
        self._writer_lock = threading.Lock()
        self._walsync: WalSync | None = None
        self._sink: WriterProcess | BatchCommitter | None = None  # what commits the writer's batches
        self._limit_specs: dict[int, tuple[Any, dict[str, Any]]] = {}  # id(limit) -> (limit, its dump)
        database = engine.url.database
        self._in_memory = database in (None, "", ":memory:")
        on_file = engine.url.get_backend_name() == "sqlite" and not self._in_memory
        self._sqlite_file = Path(database) if on_file else None

    def _start_writer(self) -> Writer:
        """The writer, started if it is not yet (by the first record or the run's start)."""
        writer = self._writer
        if writer is None:
            with self._writer_lock:
                if self._writer is None:
                    if self._sqlite_file is not None:
                        self._walsync = WalSync(self._sqlite_file)
                    wal_flushed = self._walsync is not None
                    if self._in_memory:  # an in-memory database is this process's own
                        self._sink = BatchCommitter(self.engine, wal_flushed_elsewhere=wal_flushed)
                    else:
                        sink = WriterProcess(self.url, redact(self.url), wal_flushed_elsewhere=wal_flushed)
                        sink.start()
                        self._sink = sink
                    self._writer = Writer(self._commit_rows, redact(self.url))
                writer = self._writer
        return writer

    def _queue(self, table: str, values: tuple[Any, ...]) -> None:
        """Hand a row to the writer (started on the first record: readers never need it)."""
        (self._writer or self._start_writer()).put(table, values)

    def _commit_rows(self, rows: list[Row]) -> None:
        """On the writer thread: have a batch committed (in the writer process), then flushed.

        On SQLite the batch is committed with ``synchronous=NORMAL`` and the
        group syncer is told, so one fsync covers every commit before it.
        """
        assert self._sink is not None
        self._sink.commit(rows)
        if self._walsync is not None:
            self._walsync.written()

    def _drain(self) -> None:
        """Return when every record queued so far is committed (visible to every reader)."""
        writer = self._writer
        if writer is not None:
            writer.sync()

    def sync(self) -> None:
        """Return when every record queued so far is committed and on the disk (survives a power cut).

        Raises :class:`StoreError` (a :class:`~rackval.results.writer.WriterError`)
        if the writer could not store them. PostgreSQL flushes each commit before
        it returns, so there committed is flushed.
        """
        self._drain()
        walsync = self._walsync
        if walsync is not None:
            walsync.sync()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A reading connection that sees this store's own records (queued ones committed first)."""
        self._drain()
        with self.engine.connect() as conn:
            yield conn

    @classmethod
    def open(cls, url: str | None = None, results_dir: str | Path = "results") -> ResultsStore:
        """Open (creating or migrating the schema if needed) the store at ``url``.

        Without a URL: SQLite at ``<results_dir>/results.db``.
        """
        url = url or default_url(results_dir)
        engine = make_engine(url)
        try:
            s.ensure_schema(engine)
        except OperationalError as exc:
            engine.dispose()
            raise StoreError(f"results store {redact(url)}: {exc.orig or exc}") from None
        except s.SchemaError as exc:
            engine.dispose()
            raise StoreError(f"results store {redact(url)}: {exc}") from None
        return cls(engine, url)

    def close(self) -> None:
        """Commit and flush what is queued, then let go of the database.

        Raises if records could not be stored and no caller has been told yet.
        """
        try:
            with self._writer_lock:
                writer, self._writer = self._writer, None
            if writer is not None:
                writer.close()
        finally:
            try:
                if self._sink is not None:
                    self._sink.close()
                    self._sink = None
            finally:
                try:
                    if self._walsync is not None:
                        self._walsync.close()
                        self._walsync = None
                finally:
                    self.engine.dispose()

    def __repr__(self) -> str:
        return f"ResultsStore({redact(self.url)})"

    # -- writing ---------------------------------------------------------------

    def start_run(
        self,
        run: RunInfo,
        *,
        rack: Rack | None = None,
        command_line: str | None = None,
        pid: int | None = None,
    ) -> None:
        pid = os.getpid() if pid is None else pid
        values = {
            "run_id": run.run_id,
            "rack_serial": run.rack_serial,
            "rack_model": run.rack_model,
            "plan_version": run.plan_version,
            "station_id": run.station_id,
            "operator_id": run.operator_id,
            "suites": list(run.suites),
            "suite_version": run.suite_version,
            "limits_file": run.limits_file,
            "limits_version": run.limits_version,
            "rackval_version": run.rackval_version,
            "scenario": run.scenario,
            "retest_of": run.retest_of,
            "rack_file": str(rack.source) if rack is not None and rack.source else None,
            "rack_plan": rack_plan(rack) if rack is not None else None,
            "command_line": command_line,
            "host": socket.gethostname(),
            "pid": pid,
            "proc_start": process_start(pid),
            "started_at": _as_utc(run.started_at),
        }
        with self.engine.begin() as conn:
            conn.execute(s.runs.insert().values(**values))
        self._start_writer()  # its process opens the store while the run gets going

    def update_run(self, run_id: str, **values: Any) -> None:
        """Fill in what became known after the start (suites, scenario)."""
        allowed = {"suites", "scenario"}
        bad = set(values) - allowed
        if bad:
            raise ValueError(f"update_run: cannot change {', '.join(sorted(bad))}")
        with self.engine.begin() as conn:
            conn.execute(update(s.runs).where(s.runs.c.run_id == run_id).values(**values))

    def record_test(self, run_id: str, test: TestRecord) -> None:
        """Queue a test's outcome; committed within ~100 ms, durable after :meth:`sync`."""
        self._queue(
            "tests",
            (
                run_id,
                test.nodeid,
                test.suite,
                test.item_kind,
                test.item_id,
                test.device,
                test.outcome,
                test.duration_s,
                test.message,
                _as_utc(test.started_at),
                _as_utc(test.finished_at),
            ),
        )

    def record_measurement(self, run_id: str, nodeid: str, m: Measurement) -> None:
        """Queue a measurement; committed within ~100 ms, durable after :meth:`sync`."""
        limit = m.limit
        if limit is None:
            spec = None
        else:  # a limit is usually one of the limits file's, shared by every item: dump it once
            cached = self._limit_specs.get(id(limit))
            if cached is None or cached[0] is not limit:
                if len(self._limit_specs) >= LIMIT_DUMPS_KEPT:
                    self._limit_specs.clear()
                cached = self._limit_specs[id(limit)] = (limit, limit.model_dump(exclude_defaults=True))
            spec = cached[1]
        value = m.value
        if not (value.__class__ is float and math.isfinite(value)):
            value = json_value(value)
        self._queue(
            "measurements",
            (
                run_id,
                nodeid,
                m.name,
                value,
                m.units or "",
                spec,
                m.outcome,
                m.device,
                m.item,
                _as_utc(m.timestamp),
            ),
        )

    def finish_run(
        self, run_id: str, outcome: str, *, exit_status: int | None = None, ended_at: datetime | None = None
    ) -> None:
        if outcome not in RUN_OUTCOMES:
            raise ValueError(f"run outcome must be one of {', '.join(RUN_OUTCOMES)}, not {outcome!r}")
        self._drain()  # the run's records are committed before its end says it is complete
        with self.engine.begin() as conn:
            conn.execute(
                update(s.runs)
                .where(s.runs.c.run_id == run_id)
                .values(
                    outcome=outcome,
                    exit_status=exit_status,
                    ended_at=_as_utc(ended_at or datetime.now(UTC)),
                )
            )
        self.sync()

    # -- reading ---------------------------------------------------------------

    def _last_activity(self, conn: Any, run_id: str) -> datetime | None:
        t = conn.execute(select(func.max(s.tests.c.finished_at)).where(s.tests.c.run_id == run_id)).scalar()
        m = conn.execute(
            select(func.max(s.measurements.c.timestamp)).where(s.measurements.c.run_id == run_id)
        ).scalar()
        found = [utc(x) for x in (t, m) if x is not None]
        return max(found) if found else None

    def _effective_outcome(self, conn: Any, row: Any, now: datetime) -> str:
        if row.outcome:
            return row.outcome
        if row.host == socket.gethostname() and row.pid is not None:
            return "running" if process_alive(row.pid, row.proc_start) else "aborted"
        last = self._last_activity(conn, row.run_id) or utc(row.started_at)
        return "aborted" if now - last > STALE_AFTER else "running"

    def _run_record(self, conn: Any, row: Any, now: datetime) -> RunRecord:
        return RunRecord(
            run_id=row.run_id,
            rack_serial=row.rack_serial,
            rack_model=row.rack_model,
            plan_version=row.plan_version,
            station_id=row.station_id,
            operator_id=row.operator_id,
            suites=list(row.suites or []),
            suite_version=row.suite_version,
            limits_file=row.limits_file,
            limits_version=row.limits_version,
            rackval_version=row.rackval_version,
            scenario=row.scenario,
            retest_of=row.retest_of,
            rack_file=row.rack_file,
            rack_plan=row.rack_plan,
            command_line=row.command_line,
            started_at=utc(row.started_at),
            ended_at=utc(row.ended_at),
            outcome=self._effective_outcome(conn, row, now),
            stored_outcome=row.outcome,
            host=row.host,
            pid=row.pid,
        )

    def resolve_run_id(self, run_id: str) -> str:
        """The full id of the run ``run_id`` names (exactly, or as a unique prefix)."""
        with self._reading() as conn:
            exact = conn.execute(select(s.runs.c.run_id).where(s.runs.c.run_id == run_id)).scalar()
            if exact:
                return exact
            like = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            found = (
                conn.execute(select(s.runs.c.run_id).where(s.runs.c.run_id.like(like, escape="\\")).limit(5))
                .scalars()
                .all()
            )
        if len(found) == 1:
            return found[0]
        if not found:
            raise StoreError(f"no run {run_id!r} in results store {redact(self.url)}")
        raise StoreError(f"run id {run_id!r} is ambiguous: {', '.join(found)}…")

    def get_run(self, run_id: str) -> RunRecord:
        full = self.resolve_run_id(run_id)
        now = datetime.now(UTC)
        with self._reading() as conn:
            row = conn.execute(select(s.runs).where(s.runs.c.run_id == full)).one()
            return self._run_record(conn, row, now)

    def list_runs(
        self, *, serial: str | None = None, outcome: str | None = None, limit: int | None = 50
    ) -> list[RunRecord]:
        """Runs newest first, optionally of one rack serial and/or with one outcome."""
        query = select(s.runs).order_by(s.runs.c.started_at.desc(), s.runs.c.run_id)
        if serial:
            query = query.where(s.runs.c.rack_serial == serial)
        if outcome in ("pass", "fail", "error"):
            query = query.where(s.runs.c.outcome == outcome)
            if limit:
                query = query.limit(limit)
        elif outcome in ("aborted", "running"):
            query = query.where((s.runs.c.outcome.is_(None)) | (s.runs.c.outcome == outcome))
        elif outcome is not None:
            raise StoreError(f"outcome must be one of pass, fail, error, aborted, running: {outcome!r}")
        elif limit:
            query = query.limit(limit)
        now = datetime.now(UTC)
        with self._reading() as conn:
            records = [self._run_record(conn, row, now) for row in conn.execute(query)]
        if outcome in ("aborted", "running"):
            records = [r for r in records if r.outcome == outcome][: limit or None]
        return records

    def history(self, serial: str) -> list[RunRecord]:
        """All runs of one rack, newest first."""
        return self.list_runs(serial=serial, limit=None)

    def tests(self, run_id: str) -> list[TestRecord]:
        with self._reading() as conn:
            rows = conn.execute(
                select(s.tests).where(s.tests.c.run_id == run_id).order_by(s.tests.c.id)
            ).all()
        return [_test_record(r) for r in rows]

    def measurements(self, run_id: str) -> list[MeasurementRecord]:
        with self._reading() as conn:
            rows = conn.execute(
                select(s.measurements).where(s.measurements.c.run_id == run_id).order_by(s.measurements.c.id)
            ).all()
        return [_measurement_record(r) for r in rows]

    def report(self, run_id: str) -> RunReport:
        run = self.get_run(run_id)
        return RunReport(run, self.tests(run.run_id), self.measurements(run.run_id))

    def failed_nodeids(self, run_id: str) -> set[str]:
        """Node ids that failed or errored in the run (what ``--retest`` reruns)."""
        full = self.resolve_run_id(run_id)
        with self._reading() as conn:
            rows = conn.execute(
                select(s.tests.c.nodeid, s.tests.c.outcome)
                .where(s.tests.c.run_id == full)
                .order_by(s.tests.c.id)
            ).all()
        latest = {nodeid: outcome for nodeid, outcome in rows}
        return {n for n, o in latest.items() if o in ("failed", "error")}

    def retests_of(self, run_id: str) -> list[RunRecord]:
        """Runs that retested ``run_id``, newest first."""
        now = datetime.now(UTC)
        with self._reading() as conn:
            rows = conn.execute(
                select(s.runs).where(s.runs.c.retest_of == run_id).order_by(s.runs.c.started_at.desc())
            ).all()
            return [self._run_record(conn, r, now) for r in rows]

    def rack_status(self, serial: str) -> dict[str, TestRecord]:
        """The latest result of every test of a rack across its runs (retests included).

        A skip does not hide an earlier real result; it counts only when a test
        was never run otherwise.
        """
        query = (
            select(s.tests, s.runs.c.started_at.label("run_started"))
            .join(s.runs, s.runs.c.run_id == s.tests.c.run_id)
            .where(s.runs.c.rack_serial == serial)
            .order_by(s.runs.c.started_at, s.tests.c.id)
        )
        status: dict[str, TestRecord] = {}
        with self._reading() as conn:
            for row in conn.execute(query):
                rec = _test_record(row)
                prev = status.get(rec.nodeid)
                if rec.outcome == "skipped" and prev is not None and prev.outcome != "skipped":
                    continue
                status[rec.nodeid] = rec
        return status


def status_outcome(status: Iterable[TestRecord]) -> str:
    """pass/fail of a rack from the latest result per test."""
    outcomes = {t.outcome for t in status}
    if not outcomes:
        return "untested"
    return "fail" if outcomes & {"failed", "error"} else "pass"


def _test_record(row: Any) -> TestRecord:
    return TestRecord(
        nodeid=row.nodeid,
        suite=row.suite,
        outcome=row.outcome,
        duration_s=row.duration_s,
        message=row.message,
        started_at=utc(row.started_at),
        finished_at=utc(row.finished_at),
        item_kind=row.item_kind,
        item_id=row.item_id,
        device=row.device,
        run_id=row.run_id,
    )


def _measurement_record(row: Any) -> MeasurementRecord:
    return MeasurementRecord(
        nodeid=row.nodeid,
        name=row.name,
        value=row.value,
        units=row.units,
        limit=row.limit_spec,
        outcome=row.outcome,
        device=row.device,
        item=row.item,
        timestamp=utc(row.timestamp),
        run_id=row.run_id,
    )


def dumps_limit(limit: dict[str, Any] | None) -> str:
    """A stored limit as a technician reads it (``0.5 to 10 A`` style)."""
    if not limit:
        return ""
    from rackval.limits import Limit

    try:
        return Limit(**limit).describe()
    except ValueError:
        return json.dumps(limit)
