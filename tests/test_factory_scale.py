"""A simulated factory of 8 stations (`rackval factory sim`) running concurrently, results central."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

from rackval.factory.dispatch import dispatch as send
from rackval.factory.dispatch import run_spec
from rackval.factory.status import factory_status
from tests.factory_helpers import BROKER, central_run, counts, wait_for

N = 8


def test_eight_stations_run_concurrently_and_every_result_lands_centrally(tmp_path, central):
    prefix = f"F{uuid.uuid4().hex[:6].upper()}"
    cmd = [
        sys.executable,
        "-m",
        "rackval",
        "factory",
        "sim",
        "--stations",
        str(N),
        "--workdir",
        str(tmp_path),
    ]
    cmd += ["--prefix", prefix, "--results-db", central, "--broker", BROKER]
    with open(tmp_path / "factory.log", "wb") as log:
        factory = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ids = [f"{prefix}-{i:02d}" for i in range(1, N + 1)]

        def all_idle():
            found = {s.station_id: s.state for s in factory_status(central)}
            return all(found.get(i) == "idle" for i in ids)

        wait_for("8 stations idle", all_idle, timeout=90, every=0.5)
        runs = {}
        for i, station_id in enumerate(ids, start=1):
            spec = run_spec(f"RK-{prefix}-{i:04d}", suites=["power"], sim=True, marker="not destructive")
            runs[station_id] = send(station_id, spec, BROKER)
        done = {
            s: wait_for(f"the run of {s}", lambda r=r: central_run(central, r), timeout=90)
            for s, r in runs.items()
        }
        for i, (station_id, run) in enumerate(done.items(), start=1):
            assert (run.station_id, run.rack_serial, run.outcome) == (
                station_id,
                f"RK-{prefix}-{i:04d}",
                "pass",
            )
            local = f"sqlite:///{tmp_path / station_id / 'results' / 'results.db'}"
            whole = counts(local, run.run_id)
            assert whole[0] > 0 and counts(central, run.run_id) == whole
        assert len({r.run_id for r in done.values()}) == N
    finally:
        if factory.poll() is None:
            os.killpg(factory.pid, signal.SIGINT)
            try:
                factory.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(factory.pid, signal.SIGKILL)
                factory.wait(10)
    stopped = {s.station_id: s.state for s in factory_status(central)}
    assert all(stopped[i] == "offline" for i in ids)  # each worker said it stopped
