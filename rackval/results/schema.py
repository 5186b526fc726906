"""The results store's tables (SQLAlchemy Core) and their version.

The schema is created on first use. ``schema_version`` holds one row per
version applied; a later release that changes the tables bumps
:data:`SCHEMA_VERSION` and adds a step to :data:`MIGRATIONS`, which
:func:`ensure_schema` runs in order on an older store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from rackval import __version__

SCHEMA_VERSION = 1

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    Column("rackval_version", String(64), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("rack_serial", String(64), nullable=False),
    Column("rack_model", String(64), nullable=False),
    Column("plan_version", String(32), nullable=False),
    Column("station_id", String(128), nullable=False),
    Column("operator_id", String(128), nullable=False),
    Column("suites", JSON, nullable=False),
    Column("suite_version", String(64), nullable=False),
    Column("limits_file", Text, nullable=False),
    Column("limits_version", String(64), nullable=False),
    Column("rackval_version", String(64), nullable=False),
    Column("scenario", Text),
    Column("retest_of", String(64)),
    # what the pictures of a report need from the rack file (PDUs, power map, cabling)
    Column("rack_file", Text),
    Column("rack_plan", JSON),
    Column("command_line", Text),
    # who is running it: lets a reader tell a live run from one whose process died
    Column("host", String(255)),
    Column("pid", Integer),
    Column("proc_start", String(32)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("outcome", String(16)),  # pass, fail, error, aborted; NULL while running
    Column("exit_status", Integer),
)
Index("ix_runs_serial_started", runs.c.rack_serial, runs.c.started_at)
Index("ix_runs_retest_of", runs.c.retest_of)

tests = Table(
    "tests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("nodeid", Text, nullable=False),
    Column("suite", Text, nullable=False),
    Column("item_kind", String(32)),
    Column("item_id", String(255)),
    Column("device", String(64)),
    Column("outcome", String(16), nullable=False),  # passed, failed, error, skipped
    Column("duration_s", Float, nullable=False),
    Column("message", Text),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
)
Index("ix_tests_run", tests.c.run_id)

measurements = Table(
    "measurements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("nodeid", Text, nullable=False),
    Column("name", String(128), nullable=False),
    Column("value", JSON),  # the value as measured: number, string or bool
    Column("units", String(32), nullable=False),
    Column("limit_spec", JSON),  # rackval.limits.Limit as a dict, or NULL
    Column("outcome", String(8), nullable=False),  # pass, fail
    Column("device", String(64), nullable=False),
    Column("item", String(255), nullable=False),
    Column("timestamp", DateTime(timezone=True), nullable=False),
)
Index("ix_measurements_run", measurements.c.run_id)

# version n -> n+1: a function that alters a store at version n in place
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


class SchemaError(Exception):
    """The store's schema cannot be used by this rackval (newer, or no migration path)."""


def current_version(conn: Connection) -> int | None:
    return conn.execute(select(schema_version.c.version).order_by(schema_version.c.version.desc())).scalar()


def ensure_schema(
    engine: Engine,
    target: int = SCHEMA_VERSION,
    migrations: dict[int, Callable[[Connection], None]] | None = None,
) -> int:
    """Create the tables if missing and migrate an older store up to ``target``.

    Returns the version the store is at. Raises :class:`SchemaError` for a store
    written by a newer rackval, or when a migration step is missing.
    """
    steps = MIGRATIONS if migrations is None else migrations
    for attempt in range(5):
        try:
            return _ensure(engine, target, steps)
        except (IntegrityError, OperationalError, ProgrammingError) as exc:
            # another process created the tables (or the version row) at the same moment
            text = str(exc.orig or exc).lower()
            raced = isinstance(exc, IntegrityError) or "already exists" in text or "duplicate" in text
            if not raced or attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _ensure(engine: Engine, target: int, steps: dict[int, Callable[[Connection], None]]) -> int:
    with engine.begin() as conn:
        metadata.create_all(conn, checkfirst=True)
        version = current_version(conn)
        if version is None:
            _mark(conn, target)
            return target
        if version > target:
            raise SchemaError(
                f"results store schema is version {version}, newer than this rackval "
                f"({__version__}) understands ({target}); upgrade rackval"
            )
        while version < target:
            step = steps.get(version)
            if step is None:
                raise SchemaError(f"results store schema {version}: no migration to {version + 1}")
            step(conn)
            version += 1
            _mark(conn, version)
        return version


def _mark(conn: Connection, version: int) -> None:
    conn.execute(
        schema_version.insert().values(
            version=version, applied_at=datetime.now(UTC), rackval_version=__version__
        )
    )
