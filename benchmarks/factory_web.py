"""Latency of the factory overview's endpoints on a busy central database.

    python benchmarks/factory_web.py                     # 16 stations, 1000 runs, 200 requests each
    python benchmarks/factory_web.py --stations 64 --runs 10000 --requests 100

Needs PostgreSQL (``--admin-db``: a database to CREATE/DROP the benchmark's own
from). Writes ``--stations`` heartbeat rows (a quarter running, one offline) and
``--runs`` runs (spread over the stations and 50 racks, a few without an end) into
a fresh database, starts ``rackval factory serve`` on 127.0.0.1 (``--tick 0``: every request
reads the database; ``--tick 1``: requests within a tick share one read), and
times sequential HTTP requests (one client, a connection each) to ``/api/stations``,
``/api/runs``, ``/api/runs?serial=S`` and ``/`` (p50 / p99 / max, ms), plus one
read (in-process) of what a tick sends every connected page.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, literal_column, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rackval.factory.tables import ensure_tables, stations  # noqa: E402
from rackval.factory.web import Central, Overview  # noqa: E402
from rackval.results import schema as s  # noqa: E402
from rackval.results.store import ResultsStore  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def fill(url: str, n_stations: int, n_runs: int) -> None:
    ResultsStore.open(url).close()  # the results schema
    engine = create_engine(url)
    ensure_tables(engine)
    now = datetime.now(UTC)
    beats = []
    for i in range(n_stations):
        running = i % 4 == 0
        beats.append(
            dict(
                station_id=f"ST-{i:02d}",
                queue=f"rackval.station.ST-{i:02d}",
                host=f"station-{i:02d}",
                pid=1000 + i,
                state="running" if running else "idle",
                run_id=uuid.uuid4().hex[:16] if running else None,
                rack_serial=f"RK-{i:04d}" if running else None,
                item_done=17 if running else None,
                item_total=64 if running else None,
                beat_at=literal_column("now() - interval '60 seconds'") if i == n_stations - 1 else now,
            )
        )
    runs = []
    for i in range(n_runs):
        started = now - timedelta(minutes=n_runs - i)
        unfinished = i >= n_runs - 4
        runs.append(
            dict(
                run_id=uuid.uuid4().hex[:16],
                rack_serial=f"RK-{i % 50:04d}",
                rack_model="AIR-42U-DEMO",
                plan_version="1",
                station_id=f"ST-{i % n_stations:02d}",
                operator_id="alice",
                suites=["power"],
                suite_version="1",
                limits_file="limits.yaml",
                limits_version="1",
                rackval_version="bench",
                host=f"station-{i % n_stations:02d}",
                pid=1,
                started_at=started,
                ended_at=None if unfinished else started + timedelta(seconds=40),
                outcome=None if unfinished else ("fail" if i % 7 == 0 else "pass"),
            )
        )
    with engine.begin() as conn:
        for beat in beats:  # a literal beat_at per row: one insert each
            conn.execute(stations.insert().values(**beat))
        conn.execute(s.runs.insert(), runs)
    engine.dispose()


@contextlib.contextmanager
def serve(url: str, tick: float, folder: Path) -> Iterator[str]:
    """``rackval factory serve`` in its own process (the client does not share its GIL)."""
    ready = folder / f"ready-{tick}.json"
    cmd = [sys.executable, "-m", "rackval", "factory", "serve", "--results-db", url, "--port", "0"]
    cmd += ["--tick", str(tick), "--ready-file", str(ready)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("rackval factory serve did not start")
            time.sleep(0.05)
        yield json.loads(ready.read_text())["url"].rstrip("/")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def row(name: str, took: list[float]) -> None:
    print(f"{name:<34}{pct(took, 0.5):>9.1f}{pct(took, 0.99):>9.1f}{max(took):>9.1f}")


def time_requests(base: str, path: str, n: int) -> list[float]:
    # a connection per request (urllib): httpx's keep-alive client adds a steady ~44 ms
    # per request on loopback here (delayed ACK), which would swamp what is measured
    urllib.request.urlopen(base + path, timeout=30).read()  # warm: the store opens on first use
    took = []
    for _ in range(n):
        t = time.perf_counter()
        with urllib.request.urlopen(base + path, timeout=30) as r:
            r.read()
        took.append((time.perf_counter() - t) * 1000)
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--admin-db", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--stations", type=int, default=16)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()

    name = f"rv_bench_web_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.admin_db, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        fill(url, args.stations, args.runs)
        print(f"{args.stations} stations, {args.runs} runs, {args.requests} sequential requests each")
        for tick, what in ((0.0, "every request reads the database"), (1.0, "shared read, --tick 1")):
            print(f"\n{what} (rackval factory serve --tick {tick:g})")
            print(f"{'endpoint':<34}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
            with tempfile.TemporaryDirectory() as tmp, serve(url, tick, Path(tmp)) as base:
                for path in ("/api/stations", "/api/runs", "/api/runs?serial=RK-0007", "/"):
                    row(path, time_requests(base, path, args.requests))
        print()
        overview = Overview(Central(url))
        overview.read()
        ticks = []
        for _ in range(max(10, args.requests // 10)):
            t = time.perf_counter()
            snap = overview.read()
            ticks.append((time.perf_counter() - t) * 1000)
        assert snap["db"]["ok"] and len(snap["stations"]) == args.stations
        row("one read (stations + latest runs)", ticks)
        overview.central.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
