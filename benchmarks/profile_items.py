"""Where an item's milliseconds go: cProfile of the pytest side of a hall run (issue #14).

    python benchmarks/profile_items.py            # prints ms/item per part
    python benchmarks/profile_items.py --dump F   # also keeps the raw pstats in F

Starts the hall rack's simulators with the benchmark's latency scenario (their
own process, not profiled), then runs ``rack_scale.suite_args`` with
``pytest.main`` under cProfile in a child process, and prints the inclusive
time of each part's entry points divided by the items run. cProfile sees the
main (test) thread only; the results writer's thread is timed separately
(CPU time of its batches, ``time.thread_time``), since it still shares the
process (and the GIL) with the tests. cProfile inflates Python-heavy parts
about 1.5-2x: read the figures as shares, not as the benchmark's.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.rack_scale import HALL, LATENCY_MS, latency_scenario, start, suite_args  # noqa: E402

# part -> (file substring, function name) entry points whose inclusive times add up
PARTS: dict[str, list[tuple[str, str]]] = {
    "results store, record_* on the test thread": [
        ("results/store.py", "record_measurement"),
        ("results/store.py", "record_test"),
    ],
    "results store, sync (waits for the writer/fsync)": [("results/store.py", "sync")],
    "results plugin hooks (Recorder.pytest_runtest_logreport)": [
        ("plugin/results.py", "pytest_runtest_logreport")
    ],
    "measure() (Measure.__call__, incl. the store)": [("plugin/core.py", "__call__")],
    "limit lookup (LimitsFile.get)": [("rackval/limits.py", "get")],
    "judge + Limit.check": [("rackval/measurement.py", "judge")],
    "logging": [("logging/__init__.py", "_log")],
    "parametrization (pytest_generate_tests)": [("python.py", "_genfunctions")],
    "collection (pytest_collection)": [("_pytest/main.py", "pytest_collection")],
    "imports (_find_and_load)": [("<frozen importlib._bootstrap>", "_find_and_load")],
    "whole run (pytest.main)": [("_pytest/config/__init__.py", "main")],
}
PLUGGY = "pluggy"


def child(endpoints: Path, workdir: Path, dump: Path) -> None:
    import pytest

    from rackval.results import store as store_mod

    writer_cpu = [0.0, 0]
    real = getattr(store_mod.ResultsStore, "_commit_rows", None)

    def timed(self: Any, rows: list[Any]) -> None:
        t0 = time.thread_time()
        try:
            real(self, rows)
        finally:
            writer_cpu[0] += time.thread_time() - t0
            writer_cpu[1] += 1

    if hasattr(store_mod.ResultsStore, "_commit_rows"):  # a store with a writer thread
        store_mod.ResultsStore._commit_rows = timed  # type: ignore[method-assign]
    counter = _Count()
    prof = cProfile.Profile()
    prof.enable()
    pytest.main(suite_args(HALL, endpoints, workdir / "results"), plugins=[counter])
    prof.disable()
    prof.dump_stats(str(dump))
    (workdir / "child.json").write_text(
        json.dumps({"items": counter.items, "writer_cpu_s": writer_cpu[0], "batches": writer_cpu[1]})
    )


class _Count:
    def __init__(self) -> None:
        self.items = 0

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.items += 1


def analyse(dump: Path, items: int) -> dict[str, float]:
    stats = pstats.Stats(str(dump))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for part, points in PARTS.items():
        total = 0.0
        for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in raw.items():
            if any(sub in path and func == name for sub, name in points):
                total = max(total, ct) if part.startswith(("imports", "whole")) else total + ct
        out[part] = total * 1000 / items
    out["pluggy hook dispatch (pluggy's own time)"] = (
        sum(tt for (path, _l, _f), (_cc, _nc, tt, _ct, _c) in raw.items() if PLUGGY in path) * 1000 / items
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--child", nargs=3, metavar=("ENDPOINTS", "WORKDIR", "DUMP"))
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="rackval-prof-") as tmp:
        workdir = Path(tmp)
        sim = start(HALL, [latency_scenario(workdir, LATENCY_MS)], workdir / "sim-hall")
        try:
            dump = args.dump or workdir / "prof.pstats"
            started = time.perf_counter()
            endpoints = sim.workdir / "endpoints.json"
            subprocess.run(
                [sys.executable, __file__, "--child", str(endpoints), str(workdir), str(dump)],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            wall = time.perf_counter() - started
        finally:
            sim.stop()
        info = json.loads((workdir / "child.json").read_text())
        items = info["items"]
        print(f"items {items}, profiled child wall {wall:.1f} s")
        for part, ms in analyse(dump, items).items():
            print(f"{ms:8.3f} ms/item  {part}")
        print(
            f"{info['writer_cpu_s'] * 1000 / items:8.3f} ms/item  results writer thread, CPU "
            f"({info['batches']} batches, {items / max(info['batches'], 1):.1f} items/batch)"
        )


if __name__ == "__main__":
    main()
