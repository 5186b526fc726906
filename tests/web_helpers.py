"""Helpers for the station web page's tests: a station file, a real page server process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from rackval.simprocess import terminate
from rackval.web.auth import scrypt_hash
from tests.conftest import DEMO_RACK, ROOT, SCENARIOS

PIN = "4711"
BADGE = "BADGE-0042"
DEMO_SERIAL = "RK-DEMO-0001"


def demo_secrets() -> list[str]:
    """The demo rack's device credentials, as the simulators and drivers see them."""
    data = yaml.safe_load((ROOT / "fixtures" / "secrets" / "demo.yaml").read_text())
    return [str(v) for v in data.values() if v]


def make_station(folder: Path, *, scan_rack_serial: bool = True) -> Path:
    """The demo station plus a racks folder (the demo rack only), an operator and a prompt."""
    racks = folder / "racks"
    racks.mkdir(parents=True, exist_ok=True)
    link = racks / "demo.yaml"
    if not link.exists():
        link.symlink_to(DEMO_RACK)  # the rack resolves its includes from the real file
    text = (ROOT / "fixtures" / "stations" / "demo-station.yaml").read_text()
    text += f"scan_rack_serial: {'true' if scan_rack_serial else 'false'}\nracks_dir: racks\n"
    text += "operators:\n"
    text += f"  - {{name: alice, pin_hash: '{scrypt_hash(PIN)}', badge_hash: '{scrypt_hash(BADGE)}'}}\n"
    path = folder / "station.yaml"
    path.write_text(text)
    return path


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    results: Path
    log: Path


@contextmanager
def serve(
    folder: Path,
    *extra: str,
    scan_rack_serial: bool = True,
    suite: str = "power",
    env: dict[str, str] | None = None,
) -> Iterator[Served]:
    """``rackval station serve`` on a free loopback port, simulated racks, one suite."""
    station = make_station(folder, scan_rack_serial=scan_rack_serial)
    ready = folder / "ready.json"
    log = folder / "serve.log"
    results = folder / "results"
    cmd = [sys.executable, "-m", "rackval", "station", "serve", "--station", str(station)]
    cmd += ["--port", "0", "--results-dir", str(results), "--ready-file", str(ready)]
    cmd += ["--sim", "--scenario", str(SCENARIOS / "dead-outlet.yaml"), "--suite", suite, *extra]
    child_env = {k: v for k, v in os.environ.items() if k not in ("RACKVAL_ANSWERS", "RACKVAL_RESULTS_DIR")}
    child_env.update(env or {})
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=child_env, cwd=folder)
    try:
        yield Served(ready_url(process, ready, log, "the page server", 60), process, results, log)
    finally:
        stop_server(process, 30)


def ready_url(process: subprocess.Popen[bytes], ready: Path, log: Path, what: str, timeout: float) -> str:
    """The URL a page server writes to its ``--ready-file`` once it listens (its log if it dies)."""
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    return json.loads(ready.read_text())["url"]


def stop_server(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Ctrl-C for a page server, then a kill if it does not go within ``timeout``."""
    terminate(process, timeout, signal.SIGINT)


def artifacts_dir(fallback: Path) -> Path:
    """Where screenshots go: ``$RACKVAL_ARTIFACTS/screenshots`` when set, else ``fallback``."""
    base = os.environ.get("RACKVAL_ARTIFACTS")
    folder = Path(base) / "screenshots" if base else fallback
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chromium() -> str | None:
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
