"""Helpers for the factory overview's tests: heartbeat rows and runs written straight into the
central database, and a real ``rackval factory serve`` process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, literal_column

from rackval.factory.tables import ensure_tables, stations
from rackval.results.store import ResultsStore
from rackval.run import RunInfo
from tests.web_helpers import ready_url, stop_server

PASSWORD = "pw-Never-On-The-Page-31337"  # PostgreSQL trusts 127.0.0.1: any password connects


def with_password(url: str, password: str = PASSWORD) -> str:
    return url.replace("postgres@", f"postgres:{password}@", 1)


def beat(
    url: str,
    station_id: str,
    state: str = "idle",
    *,
    age_s: float = 0.0,
    run_id: str | None = None,
    rack_serial: str | None = None,
    item_done: int | None = None,
    item_total: int | None = None,
    host: str = "bench-host",
) -> None:
    """Write (or rewrite) one station's heartbeat row, ``age_s`` old by the database's clock."""
    values = dict(
        queue=f"rackval.station.{station_id}",
        host=host,
        pid=4242,
        state=state,
        run_id=run_id,
        rack_serial=rack_serial,
        item_done=item_done,
        item_total=item_total,
        beat_at=literal_column(f"now() - interval '{float(age_s)} seconds'"),
    )
    engine = create_engine(url)
    try:
        ensure_tables(engine)
        with engine.begin() as conn:
            conn.execute(stations.delete().where(stations.c.station_id == station_id))
            conn.execute(stations.insert().values(station_id=station_id, **values))
    finally:
        engine.dispose()


def add_run(
    url: str,
    serial: str,
    station_id: str,
    outcome: str | None = "pass",
    *,
    minutes_ago: float = 0.0,
) -> str:
    """A run of ``serial`` on ``station_id`` in the central store, ended with ``outcome`` (None: not)."""
    started = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    info = RunInfo(
        rack_serial=serial,
        rack_model="AIR-42U-DEMO",
        plan_version="1",
        limits_file="limits.yaml",
        limits_version="1",
        station_id=station_id,
        operator_id="alice",
        suites=["power"],
        started_at=started,
    )
    store = ResultsStore.open(url)
    try:
        store.start_run(info)
        if outcome is not None:
            store.finish_run(info.run_id, outcome, ended_at=started + timedelta(seconds=30))
    finally:
        store.close()
    return info.run_id


@dataclass
class Overview:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def serve_overview(folder: Path, central_url: str, *extra: str) -> Iterator[Overview]:
    """``rackval factory serve`` on a free loopback port."""
    ready = folder / "overview-ready.json"
    log = folder / "overview.log"
    cmd = [sys.executable, "-m", "rackval", "factory", "serve", "--results-db", central_url]
    cmd += ["--port", "0", "--ready-file", str(ready), *extra]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    try:
        yield Overview(ready_url(process, ready, log, "the overview server", 30), process, log)
    finally:
        stop_server(process, 15)
