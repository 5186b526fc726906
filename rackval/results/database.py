"""The results database: engines, and the batch insert the results writer commits.

Shared by the store (:mod:`rackval.results.store`, in the run's process) and the
writer process (:mod:`rackval.results.writer_process`), which imports only this,
the schema and SQLAlchemy, so it starts quickly.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from rackval.results import schema as s
from rackval.results.writer import Row, StoreError


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


# how long a SQLite writer waits for another one (sqlite3's busy timeout)
SQLITE_BUSY_TIMEOUT_S = 10.0


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    _switch_to_wal(cur)
    # FULL: a commit is on disk when it returns, even through a power cut
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _switch_to_wal(cur: Any, deadline_s: float = SQLITE_BUSY_TIMEOUT_S) -> None:
    """Put the database in WAL mode, waiting out another connection doing the same.

    SQLite does not call its busy handler while a new database is being switched
    to WAL: two processes opening a fresh store at once (a run and a
    ``rackval results list``) get "database is locked" at once. Retried here
    for as long as the busy timeout would have waited.
    """
    give_up = time.monotonic() + deadline_s
    pause = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > give_up:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"--results-db: not a database URL ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except Exception as exc:  # unknown dialect, missing driver
        raise StoreError(f"results store {redact(url)}: {exc}") from None


# the order of a queued row's values (record_test / record_measurement)
TEST_COLUMNS = (
    "run_id",
    "nodeid",
    "suite",
    "item_kind",
    "item_id",
    "device",
    "outcome",
    "duration_s",
    "message",
    "started_at",
    "finished_at",
)
MEASUREMENT_COLUMNS = (
    "run_id",
    "nodeid",
    "name",
    "value",
    "units",
    "limit_spec",
    "outcome",
    "device",
    "item",
    "timestamp",
)
_COLUMNS = {"tests": TEST_COLUMNS, "measurements": MEASUREMENT_COLUMNS}


# rows per INSERT statement on SQLite, at most: enough for a whole batch of a run (records of
# one write interval) while the statement's text stays a few tens of kilobytes
_SQLITE_MAX_ROWS = 1000


def sqlite_rows_per_statement(driver_connection: Any, columns: int) -> int:
    """Rows one INSERT can carry on this connection: its bound-parameter limit allows them.

    The limit is the library's own (999 before SQLite 3.32, 32,766 after, or what
    the build set), read from the connection, not assumed.
    """
    limit = driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(_SQLITE_MAX_ROWS, limit // columns))


class _Insert:
    """One table's INSERT of queued rows (tuples in ``_COLUMNS`` order), prepared once.

    On SQLite, many rows per statement (``INSERT ... VALUES (...), (...), ...``,
    as many as the connection's bound-parameter limit allows, up to
    ``_SQLITE_MAX_ROWS``): the driver releases the GIL around every statement it
    prepares and steps, and each time the writer needs it back from the test
    thread. While it waits, every system call of the test thread (pytest's
    output capture makes ~18 per test) wakes it for nothing, and the test thread
    loses the GIL to it now and then (issue #14, benchmarks/README.md). With
    ``executemany`` that was once per row; with 999 parameters once per ~90 rows;
    now once per batch and table. Rows get their ids in the order given, as with
    one INSERT per row.
    """

    def __init__(self, table: Any, dialect: Any, driver_connection: Any) -> None:
        """``driver_connection``: the DBAPI connection the batches go through (its limits size them)."""
        self.table = table
        self.columns = _COLUMNS[table.name]
        self.raw = dialect.name == "sqlite"  # qmark, positional: straight to the driver
        if self.raw:
            compiled = table.insert().compile(dialect=dialect, column_keys=list(self.columns))
            assert compiled.positional and tuple(compiled.positiontup) == self.columns
            head, _, group = compiled.string.partition(" VALUES ")
            assert group.count("?") == len(self.columns), compiled.string
            self.head, self.group = f"{head} VALUES ", group
            self.per_statement = sqlite_rows_per_statement(driver_connection, len(self.columns))
            self._sql: dict[int, str] = {}
            # each column's own conversion (DateTime -> text, JSON -> json.dumps...), as Core does it
            procs = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in self.columns]
            self.procs = [(i, p) for i, p in enumerate(procs) if p is not None]

    def sql(self, rows: int) -> str:
        text = self._sql.get(rows)
        if text is None:
            text = self._sql[rows] = self.head + ", ".join([self.group] * rows)
        return text

    def run(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if not self.raw:
            conn.execute(self.table.insert(), [dict(zip(self.columns, r, strict=True)) for r in rows])
            return
        procs = self.procs
        cursor = conn.connection.driver_connection.cursor()
        try:
            step = self.per_statement
            for start in range(0, len(rows), step):
                chunk = rows[start : start + step]
                params: list[Any] = []
                for row in chunk:
                    values = list(row)
                    for i, proc in procs:
                        values[i] = proc(values[i])
                    params.extend(values)
                cursor.execute(self.sql(len(chunk)), params)
        finally:
            cursor.close()


class BatchCommitter:
    """Inserts batches of queued rows, one transaction per batch, over one kept connection.

    The connection is kept open (a pool checkout per batch costs more than the
    insert). With ``wal_flushed_elsewhere`` (a SQLite file whose WAL
    :class:`rackval.results.walsync.WalSync` flushes) it commits with
    ``synchronous=NORMAL``: written, not yet flushed. On SQLite the rows go to
    the driver with a statement compiled once and each value converted by its
    column type's own SQLAlchemy bind processor (:class:`_Insert`: the stored
    text is the same as through Core); other databases go through Core.
    """

    def __init__(self, engine: Engine, *, wal_flushed_elsewhere: bool) -> None:
        self.engine = engine
        self.wal_flushed_elsewhere = wal_flushed_elsewhere
        self._conn: Connection | None = None
        self._inserts: dict[str, _Insert] = {}

    def commit(self, rows: list[Row]) -> None:
        """Insert ``rows`` (in order within each table) in one transaction and commit."""
        if self._conn is None or self._conn.closed:
            self._conn = self.engine.connect()
            if self.wal_flushed_elsewhere:
                self._conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
                self._conn.commit()
        by_table: dict[str, list[tuple[Any, ...]]] = {}
        for table, values in rows:
            by_table.setdefault(table, []).append(values)
        conn = self._conn
        try:
            with conn.begin():
                for table, many in by_table.items():
                    insert = self._inserts.get(table)
                    if insert is None:
                        insert = self._inserts[table] = _Insert(
                            s.metadata.tables[table], self.engine.dialect, conn.connection.driver_connection
                        )
                    insert.run(conn, many)
        except BaseException:
            conn.invalidate()  # not back to the pool: it may have committed unflushed
            conn.close()
            self._conn = None
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
