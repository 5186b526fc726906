"""A simulated factory: N stations, each with its own simulated rack (its own serial) and worker.

Each station's rack runs as a long-lived ``rackval sim`` process, like a rack
standing at its station: a worker that dies mid-run leaves it as it was, and
the restarted worker restores it from the journal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from rackval.simprocess import terminate as stop  # a station's processes: SIGTERM, reap, SIGKILL late

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
DEMO_RACK = ROOT / "fixtures" / "racks" / "demo.yaml"
DEMO_STATION = ROOT / "fixtures" / "stations" / "demo-station.yaml"


@dataclass
class SimStation:
    station_id: str
    serial: str
    rack_file: Path
    station_file: Path
    results_dir: Path
    endpoints: Path


def make_station(workdir: Path, station_id: str, serial: str) -> SimStation:
    """Write a rack file (the demo rack with ``serial``) and a station file for one station.

    Laid out like ``fixtures/`` (racks/, stations/, limits/, secrets/, pki/) so the demo rack's
    relative references hold and its secrets stay inside the rack's tree.
    """
    folder = workdir / station_id
    for part in ("limits", "secrets", "pki"):
        if (FIXTURES / part).is_dir():  # pki/ is generated on first use
            shutil.copytree(FIXTURES / part, folder / part, dirs_exist_ok=True)
    (folder / "racks").mkdir(parents=True, exist_ok=True)
    (folder / "stations").mkdir(parents=True, exist_ok=True)
    station = yaml.safe_load(DEMO_STATION.read_text())
    station["station"]["id"] = station_id
    station_file = folder / "stations" / "station.yaml"
    station_file.write_text(yaml.safe_dump(station, sort_keys=False))
    rack_text = DEMO_RACK.read_text().replace("serial: RK-DEMO-0001", f"serial: {serial}", 1)
    rack_text = rack_text.replace(
        "station: ../stations/demo-station.yaml", "station: ../stations/station.yaml", 1
    )
    rack_file = folder / "racks" / f"{serial}.yaml"
    rack_file.write_text(rack_text)
    return SimStation(
        station_id, serial, rack_file, station_file, folder / "results", folder / "endpoints.json"
    )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def start_rack(st: SimStation, scenarios: list[Path] | None = None) -> subprocess.Popen[bytes]:
    """The station's simulated rack, serving until stopped; waits for its endpoints file."""
    st.endpoints.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "simulators.rack",
        str(st.rack_file),
        "--quiet",
        "--ready-file",
        str(st.endpoints),
    ]
    cmd += ["--station", str(st.station_file)]
    for sc in scenarios or []:
        cmd += ["--scenario", str(sc)]
    log = open(st.rack_file.parent.parent / "rack-sim.log", "wb")  # noqa: SIM115 - the child's for its life
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_env())
    deadline = time.monotonic() + 60
    while not st.endpoints.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"simulated rack of {st.station_id} did not start")
        time.sleep(0.05)
    return proc


def start_worker(
    st: SimStation, broker: str | None, central_url: str, log_file: Path | None = None
) -> subprocess.Popen[bytes]:
    """``rackval station worker`` for the station, against its simulated rack."""
    cmd = [sys.executable, "-m", "rackval", "station", "worker", "--station", str(st.station_file)]
    cmd += ["--results-db", central_url, "--results-dir", str(st.results_dir)]
    cmd += ["--rack", str(st.rack_file), "--endpoints", str(st.endpoints)]
    if broker:
        cmd += ["--broker", broker]
    log = open(log_file or st.rack_file.parent.parent / "worker.log", "ab")  # noqa: SIM115
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_env())


def run_factory(n: int, workdir: Path, broker: str | None, central_url: str, prefix: str = "SIM") -> None:
    """Start ``n`` stations and serve until Ctrl-C, then stop them all."""
    from rackval.factory.app import redact_broker
    from rackval.results.store import redact

    workdir = workdir.resolve()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(1, n + 1):
            st = make_station(workdir, f"{prefix}-{i:02d}", f"RK-{prefix}-{i:04d}")
            procs.append(start_rack(st))
            procs.append(start_worker(st, broker, central_url))
            print(f"{st.station_id}: rack {st.serial} ({st.rack_file})", flush=True)
        where = redact_broker(broker) if broker else "the default broker"
        print(f"{n} stations on {where}, results to {redact(central_url)}; Ctrl-C stops them", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for p in reversed(procs):
            stop(p)
