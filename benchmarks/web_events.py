"""How fast the station page follows a run: events/s delivered to a page, and its lag.

    python benchmarks/web_events.py                  # hall rack, power + network, not destructive
    python benchmarks/web_events.py --suite power    # a shorter run

Starts ``rackval station serve`` (a real process on a free loopback port) for a
station whose rack folder holds ``fixtures/racks/hall.yaml``, logs in, follows
``/api/events`` with an HTTP client as a page would, starts a simulated run
(``-m "not destructive"``) and records every server-sent event as it arrives.

Prints:

- events of the run (lines of its event file) and how many reached the page
  (the ``events`` counter of the last update), run events per second over the
  run, and SSE messages/bytes the page received (updates are batched per tick);
- the lag of the page behind the run: arrival time of an update minus the time
  the run wrote the newest event it carries (median, p95, max), and minus the
  time it wrote the oldest one (what waited longest for the next tick);
- the server's own capacity: events per second folded into a view by
  :class:`rackval.web.events.RunView` (no I/O), i.e. how far it is from being the bound.

The bound: the run itself produces events at its item rate, far below what the
server folds; the lag is the polling tick (``--tick``, default 0.1 s) plus the
read and the send, so its median is about half a tick.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rackval.web.auth import scrypt_hash  # noqa: E402
from rackval.web.events import RunView  # noqa: E402

PIN = "2468"


def station_file(folder: Path) -> Path:
    racks = folder / "racks"
    racks.mkdir()
    (racks / "hall.yaml").symlink_to(ROOT / "fixtures" / "racks" / "hall.yaml")
    text = (ROOT / "fixtures" / "stations" / "demo-station.yaml").read_text()
    text += f"racks_dir: racks\noperators:\n  - {{name: bench, pin_hash: '{scrypt_hash(PIN)}'}}\n"
    path = folder / "station.yaml"
    path.write_text(text)
    return path


def fold_capacity(n: int = 200_000) -> float:
    """Events per second RunView.apply folds (start + test pairs, as a run writes them)."""
    view = RunView(1, "RK", "op")
    view.apply({"type": "collected", "total": n // 2, "suites": {"power": n // 2}, "t": 0.0})
    events = []
    for i in range(n // 2):
        nodeid = f"suites/power/test_power.py::test_outlet_current[pdu-a/{i}]"
        events.append({"type": "start", "nodeid": nodeid, "suite": "power", "t": 1.0})
        events.append({"type": "test", "nodeid": nodeid, "suite": "power", "outcome": "passed", "t": 1.0})
    start = time.perf_counter()
    for event in events:
        view.apply(event)
    return n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--suite", action="append", help="suite (repeatable; default: power, network)")
    parser.add_argument("--tick", type=float, default=0.1, help="the page server's polling tick (s)")
    args = parser.parse_args()
    suites = args.suite or ["power", "network"]

    with tempfile.TemporaryDirectory(prefix="rackval-web-bench-") as tmp:
        folder = Path(tmp)
        ready = folder / "ready.json"
        cmd = [sys.executable, "-m", "rackval", "station", "serve", "--station", str(station_file(folder))]
        cmd += ["--port", "0", "--results-dir", str(folder / "results"), "--ready-file", str(ready)]
        cmd += ["--sim", "-m", "not destructive", "--tick", str(args.tick)]
        cmd += [a for s in suites for a in ("--suite", s)]
        env = {k: v for k, v in os.environ.items() if k != "RACKVAL_ANSWERS"}
        server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not ready.exists():
                if server.poll() is not None:
                    raise SystemExit("the page server did not start")
                time.sleep(0.05)
            url = json.loads(ready.read_text())["url"]
            arrivals: list[tuple[float, dict]] = []
            nbytes = 0
            with httpx.Client(base_url=url, timeout=600) as http:
                http.post("/api/login", json={"code": PIN}, headers={"X-Rackval": "1"}).raise_for_status()
                with httpx.stream("GET", url + "api/events", timeout=600) as stream:
                    lines = stream.iter_lines()
                    next(lines), next(lines), next(lines)  # the empty snapshot
                    r = http.post("/api/runs", json={"serial": "RK-HALL-0001"}, headers={"X-Rackval": "1"})
                    r.raise_for_status()
                    started = time.time()
                    for line in lines:
                        nbytes += len(line) + 1
                        if not line.startswith("data: "):
                            continue
                        data = json.loads(line[6:])
                        arrivals.append((time.time(), data))
                        if data and data.get("exit_code") is not None:
                            break
            run_dir = next((folder / "results" / "web").iterdir())
            written = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(60)

    final = arrivals[-1][1]
    lags = [
        arrived - data["last_event_t"]
        for arrived, data in arrivals
        if data and data.get("last_event_t") and data.get("exit_code") is None
    ]
    oldest = [
        arrived - data["batch_first_t"]
        for arrived, data in arrivals
        if data and data.get("batch_first_t") and data.get("exit_code") is None
    ]
    span = written[-1]["t"] - written[0]["t"]
    quantiles = statistics.quantiles(lags, n=20) if len(lags) >= 20 else [max(lags)] * 19
    print(f"rack RK-HALL-0001, suites {', '.join(suites)}, -m 'not destructive', tick {args.tick} s")
    print(f"run: outcome {final['outcome']}, {final['total']} items, exit {final['exit_code']}")
    print(f"run events written: {len(written)} over {span:.1f} s ({len(written) / span:.0f} events/s)")
    print(
        f"delivered to the page: {final['events']} events in {len(arrivals)} SSE messages, "
        f"{nbytes / 1024:.0f} KiB ({final['events'] / (arrivals[-1][0] - started):.0f} events/s "
        f"from start to exit)"
    )
    print(
        f"lag of the page behind the run: median {statistics.median(lags) * 1000:.0f} ms, "
        f"p95 {quantiles[18] * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms ({len(lags)} updates)"
    )
    print(
        f"lag behind the oldest event of each batch: median {statistics.median(oldest) * 1000:.0f} ms, "
        f"max {max(oldest) * 1000:.0f} ms"
    )
    print(f"server capacity (RunView.apply, no I/O): {fold_capacity():,.0f} events/s")
    return 0 if final["events"] == len(written) else 1


if __name__ == "__main__":
    raise SystemExit(main())
