"""Store and forward: a station's runs are written to its local SQLite, then copied centrally.

Why not write to PostgreSQL directly from the run: a run must never lose or
stall on a record because the factory's database is away. The run writes to
the station's own store (committed as it happens, as ever); this module copies
each run's new records to the central store within a fraction of a second,
and when the central database is unreachable it simply keeps them until it is
back.

Exactly once: each copy is one central transaction that inserts the records
after the run's *mark* (the last local ``tests.id`` / ``measurements.id``
copied) and moves the mark, locked ``FOR UPDATE``. Either the records and the
mark commit together or neither does, so a copy cut by an outage (even after
the commit, before its answer came back) is redone from the committed mark:
nothing is lost and nothing is copied twice.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from rackval.factory.tables import ensure_tables, sync_marks
from rackval.results import schema as s
from rackval.results.store import ResultsStore, redact

log = logging.getLogger("rackval.factory.sync")

RUN_UPDATABLE = ("outcome", "ended_at", "exit_status", "suites", "scenario")


def _aware(row: Any) -> dict[str, Any]:
    """A local row for the central store: SQLite hands back naive datetimes (stored as UTC)."""
    return {
        k: (v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v)
        for k, v in row.items()
    }


def _insert(engine: Engine, table: Any) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


class CentralSync:
    """Copies runs from a station's local store (``local``) to the central one (``central_url``)."""

    def __init__(self, local: ResultsStore, central_url: str) -> None:
        self.local = local
        self.central_url = central_url
        self._central: Engine | None = None
        self._lock = threading.Lock()
        self.push_ms: list[float] = []  # each successful copy transaction, for benchmarks/factory.py

    def _engine(self) -> Engine:
        if self._central is None:
            store = ResultsStore.open(self.central_url)  # creates or checks the results schema
            ensure_tables(store.engine)
            self._central = store.engine
        return self._central

    def close(self) -> None:
        if self._central is not None:
            self._central.dispose()
            self._central = None

    def push(self, run_id: str) -> bool:
        """Copy what is new of ``run_id``; True when the run has ended and is fully copied.

        Raises on a central outage (OperationalError); call again later.
        """
        with self._lock:
            try:
                started = time.perf_counter()
                done = self._push(run_id)
                if len(self.push_ms) < 100_000:
                    self.push_ms.append((time.perf_counter() - started) * 1000)
                return done
            except (OperationalError, DBAPIError):
                if self._central is not None:
                    self._central.dispose()  # drop connections to a server that went away
                raise

    def _push(self, run_id: str) -> bool:
        local = self.local.engine
        with local.connect() as lc:
            run = lc.execute(select(s.runs).where(s.runs.c.run_id == run_id)).mappings().one_or_none()
        if run is None:
            return False
        run = _aware(run)
        central = self._engine()
        with central.begin() as cc:
            cc.execute(_insert(central, s.runs).values(**run).on_conflict_do_nothing())
            cc.execute(
                update(s.runs).where(s.runs.c.run_id == run_id).values(**{k: run[k] for k in RUN_UPDATABLE})
            )
            cc.execute(
                _insert(central, sync_marks)
                .values(run_id=run_id, tests_seq=0, measurements_seq=0, done=False)
                .on_conflict_do_nothing()
            )
            query = select(sync_marks).where(sync_marks.c.run_id == run_id)
            if central.dialect.name == "postgresql":
                query = query.with_for_update()
            mark = cc.execute(query).mappings().one()
            with local.connect() as lc:
                tests = (
                    lc.execute(
                        select(s.tests)
                        .where(s.tests.c.run_id == run_id, s.tests.c.id > mark["tests_seq"])
                        .order_by(s.tests.c.id)
                    )
                    .mappings()
                    .all()
                )
                meas = (
                    lc.execute(
                        select(s.measurements)
                        .where(
                            s.measurements.c.run_id == run_id, s.measurements.c.id > mark["measurements_seq"]
                        )
                        .order_by(s.measurements.c.id)
                    )
                    .mappings()
                    .all()
                )
            if tests:
                cc.execute(
                    s.tests.insert(), [_aware({k: v for k, v in t.items() if k != "id"}) for t in tests]
                )
            if meas:
                cc.execute(
                    s.measurements.insert(), [_aware({k: v for k, v in m.items() if k != "id"}) for m in meas]
                )
            done = run["outcome"] is not None
            cc.execute(
                update(sync_marks)
                .where(sync_marks.c.run_id == run_id)
                .values(
                    tests_seq=tests[-1]["id"] if tests else mark["tests_seq"],
                    measurements_seq=meas[-1]["id"] if meas else mark["measurements_seq"],
                    done=done,
                    synced_at=datetime.now(UTC),
                )
            )
        return done

    def pending_runs(self, station_id: str) -> list[str]:
        """Runs of this station in the local store that are not yet fully copied."""
        with self.local.engine.connect() as lc:
            local_ids = (
                lc.execute(select(s.runs.c.run_id).where(s.runs.c.station_id == station_id)).scalars().all()
            )
        if not local_ids:
            return []
        with self._engine().connect() as cc:
            done = set(
                cc.execute(
                    select(sync_marks.c.run_id).where(sync_marks.c.run_id.in_(local_ids), sync_marks.c.done)
                ).scalars()
            )
        return [r for r in local_ids if r not in done]


class SyncThread:
    """Keeps copying every run not yet fully copied: the one in progress every ``interval_s``."""

    def __init__(self, sync: CentralSync, station_id: str, interval_s: float = 0.2) -> None:
        self.sync = sync
        self.station_id = station_id
        self.interval_s = interval_s
        self.online = False
        self._dirty: set[str] = set()
        self._dirty_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rackval-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def mark(self, run_id: str) -> None:
        """``run_id`` has new records (or has ended): copy it until it is done."""
        with self._dirty_lock:
            self._dirty.add(run_id)
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(10)

    def _loop(self) -> None:
        backlog = True  # after a start or an outage: look for every run not yet copied
        while not self._stop.is_set():
            try:
                if backlog:
                    for run_id in self.sync.pending_runs(self.station_id):
                        self.mark(run_id)
                    backlog = False
                with self._dirty_lock:
                    dirty = sorted(self._dirty)
                for run_id in dirty:
                    if self.sync.push(run_id):
                        with self._dirty_lock:
                            self._dirty.discard(run_id)
                if not self.online:
                    log.info("central results store %s reachable", redact(self.sync.central_url))
                self.online = True
            except Exception as exc:
                if self.online:
                    log.warning(
                        "central results store unreachable, buffering locally: %s", type(exc).__name__
                    )
                self.online = False
                backlog = True
            self._wake.wait(self.interval_s if self.online else 1.0)
            self._wake.clear()

    def flush(self, run_id: str, timeout_s: float) -> bool:
        """Try to copy ``run_id`` completely now (True if it is); the thread keeps trying otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self.sync.push(run_id):
                    return True
            except Exception:
                pass
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
