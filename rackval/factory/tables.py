"""The factory's own tables in the central database, next to the results store's.

Kept out of :mod:`rackval.results.schema`: the store knows nothing of a factory.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Engine, Integer, MetaData, String, Table

metadata = MetaData()

# how far each run's records have been copied from its station's buffer (local SQLite)
sync_marks = Table(
    "factory_sync",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("tests_seq", Integer, nullable=False, default=0),  # last local tests.id copied
    Column("measurements_seq", Integer, nullable=False, default=0),  # last local measurements.id
    Column("done", Boolean, nullable=False, default=False),  # the run ended and all is copied
    Column("synced_at", DateTime(timezone=True)),
)

# one row per station worker, rewritten every few seconds (server time: no clock skew)
stations = Table(
    "factory_stations",
    metadata,
    Column("station_id", String(128), primary_key=True),
    Column("queue", String(255), nullable=False),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("state", String(16), nullable=False),  # idle, running, recovering, stopped
    Column("run_id", String(64)),
    Column("rack_serial", String(64)),
    Column("item_done", Integer),
    Column("item_total", Integer),
    Column("beat_at", DateTime(timezone=True), nullable=False),
)


def ensure_tables(engine: Engine) -> None:
    metadata.create_all(engine, checkfirst=True)
