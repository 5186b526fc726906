"""Throughput of a simulated factory: N = 1, 4, 8, 16 stations on this machine.

    python benchmarks/factory.py                    # N = 1 4 8 16, 3 runs per station
    python benchmarks/factory.py --stations 1 4 --runs 2

Needs RabbitMQ (``--broker``, default amqp://guest:guest@127.0.0.1:5672//) and
PostgreSQL (``--admin-db``: a database to CREATE/DROP the benchmark's own from).
For each N it starts N stations (a simulated demo rack with its own serial and a
``rackval station worker`` each, as ``rackval factory sim`` does), waits until
all are idle, queues ``--runs`` runs per station of the quick selection
(``--suite power -m "not destructive"``, 64 items), and waits until every run is
complete in the central store. Prints per N:

- runs/hour: all runs / (first dispatch -> last run complete centrally);
- central write latency: each copy transaction a station makes to PostgreSQL
  (a run's new records since the last copy, committed with its mark), p50/p99;
- end-to-central lag: run ended on the station -> fully copied centrally, p50/p99;
- CPU busy of the machine over the window (/proc/stat), which says what bounds it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rackval.factory.dispatch import dispatch, run_spec  # noqa: E402
from rackval.factory.sim import make_station, start_rack, start_worker, stop  # noqa: E402
from rackval.factory.status import factory_status  # noqa: E402
from rackval.factory.tables import sync_marks  # noqa: E402
from rackval.results import schema as s  # noqa: E402


def cpu_times() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def one(n: int, runs_per: int, broker: str, central: str, workdir: Path) -> dict[str, float]:
    prefix = f"B{uuid.uuid4().hex[:5].upper()}"
    stations = [make_station(workdir, f"{prefix}-{i:02d}", f"RK-{prefix}-{i:04d}") for i in range(1, n + 1)]
    procs = []
    try:
        for st in stations:
            procs.append(start_rack(st))
        workers = [start_worker(st, broker, central) for st in stations]
        procs += workers
        ids = {st.station_id for st in stations}
        deadline = time.monotonic() + 180
        while {x.station_id for x in factory_status(central) if x.state == "idle"} & ids != ids:
            if time.monotonic() > deadline:
                raise SystemExit(f"N={n}: stations did not come up")
            time.sleep(0.5)
        busy0, total0 = cpu_times()
        started = time.monotonic()
        run_ids = []
        for _ in range(runs_per):
            for st in stations:
                spec = run_spec(st.serial, suites=["power"], sim=True, marker="not destructive")
                run_ids.append(dispatch(st.station_id, spec, broker))
        engine = create_engine(central)
        while True:
            with engine.connect() as conn:
                done = conn.execute(
                    select(sync_marks.c.run_id).where(sync_marks.c.run_id.in_(run_ids), sync_marks.c.done)
                ).all()
            if len(done) == len(run_ids):
                break
            time.sleep(0.1)
        wall = time.monotonic() - started
        busy1, total1 = cpu_times()
        with engine.connect() as conn:
            rows = conn.execute(
                select(s.runs.c.ended_at, s.runs.c.outcome, sync_marks.c.synced_at)
                .join(sync_marks, sync_marks.c.run_id == s.runs.c.run_id)
                .where(s.runs.c.run_id.in_(run_ids))
            ).all()
        engine.dispose()
        lags = [(r.synced_at - r.ended_at).total_seconds() * 1000 for r in rows]
        bad = [r.outcome for r in rows if r.outcome != "pass"]
    finally:
        for p in reversed(procs):
            stop(p)
    push_ms: list[float] = []
    for st in stations:
        stats = st.results_dir / "factory" / "sync-stats.json"
        if stats.exists():
            push_ms += json.loads(stats.read_text())["push_ms"]
    return {
        "stations": n,
        "runs": len(run_ids),
        "not_pass": len(bad),
        "wall_s": wall,
        "runs_per_hour": len(run_ids) / wall * 3600,
        "write_p50_ms": pct(push_ms, 0.5),
        "write_p99_ms": pct(push_ms, 0.99),
        "lag_p50_ms": pct(lags, 0.5),
        "lag_p99_ms": pct(lags, 0.99),
        "cpu_busy_pct": 100 * (busy1 - busy0) / max(1, total1 - total0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stations", type=int, nargs="+", default=[1, 4, 8, 16])
    ap.add_argument("--runs", type=int, default=3, help="runs per station")
    ap.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672//")
    ap.add_argument("--admin-db", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    name = f"rv_factory_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.admin_db, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    central = args.admin_db.rsplit("/", 1)[0] + f"/{name}"
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="rackval-factory-bench-") as tmp:
            for n in args.stations:
                r = one(n, args.runs, args.broker, central, Path(tmp))
                results.append(r)
                print(
                    f"N={r['stations']:>2}  runs={r['runs']:>3}  {r['runs_per_hour']:7.0f} runs/h  "
                    f"wall {r['wall_s']:6.1f} s  central write p50 {r['write_p50_ms']:.1f} ms "
                    f"p99 {r['write_p99_ms']:.1f} ms  run end->central p50 {r['lag_p50_ms']:.0f} ms "
                    f"p99 {r['lag_p99_ms']:.0f} ms  cpu {r['cpu_busy_pct']:.0f}%  not pass {r['not_pass']}",
                    flush=True,
                )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "factory.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
