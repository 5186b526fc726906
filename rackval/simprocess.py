"""Start a simulated rack in a child process and talk to its control port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rackval.errors import ConfigError


@dataclass
class SimProcess:
    process: subprocess.Popen
    info: dict[str, Any]
    workdir: Path
    log_path: Path
    _stopped: bool = field(default=False)

    @property
    def overlay(self) -> dict[str, dict[str, Any]]:
        return self.info["devices"]

    def control(self, op: str, timeout: float = 10.0) -> Any:
        ctl = self.info["control"]
        with socket.create_connection((ctl["host"], ctl["port"]), timeout=timeout) as sock:
            sock.sendall((json.dumps({"op": op}) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        reply = json.loads(data)
        if not reply.get("ok"):
            raise RuntimeError(f"simulated rack control {op}: {reply.get('error')}")
        return reply["result"]

    def begin_stop(self) -> None:
        """Ask the simulators to stop, without waiting: :meth:`stop` waits for them and reaps the process.

        A run asks when its last test is done and waits as pytest unconfigures, so
        the simulators' own shutdown overlaps the end of the run (results, reports).
        """
        if not self._stopped and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        terminate(self.process, timeout)


def terminate(process: subprocess.Popen, timeout: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Signal a child process (a simulated rack, a station's worker...) and reap it.

    SIGKILL if it is still there after ``timeout``.
    """
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@dataclass
class SimLaunch:
    """A simulated rack's process, started and not yet known to be serving.

    ``rackval run --sim`` launches it as pytest starts, so the simulators' own
    start-up (a second process, the machine's other core) overlaps pytest's
    plugin loading and collection; the ``rack`` fixture then waits for it.
    """

    process: subprocess.Popen
    workdir: Path
    ready: Path
    log_path: Path
    deadline: float

    def wait_ready(self) -> SimProcess:
        """Wait until the rack is serving; a ConfigError with its last log line if it does not start."""
        proc = self.process
        while time.monotonic() < self.deadline:
            if self.ready.exists():
                return SimProcess(proc, json.loads(self.ready.read_text()), self.workdir, self.log_path)
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        output = self.log_path.read_text(errors="replace").strip().splitlines()
        detail = output[-1] if output else "no output"
        raise ConfigError(f"the simulated rack did not start: {detail}")

    def stop(self) -> None:
        """Stop the process whether or not it got to serving."""
        terminate(self.process)


def launch_sim_process(
    rack_path: Path,
    scenarios: list[Path],
    *,
    timeout: float = 60.0,
    workdir: Path | None = None,
    station: Path | None = None,
) -> SimLaunch:
    """Start ``python -m simulators.rack`` for ``rack_path``; :meth:`SimLaunch.wait_ready` waits for it."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="rackval-simproc-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / "endpoints.json"
    log_path = workdir / "simulator.log"
    cmd = [
        sys.executable,
        "-m",
        "simulators.rack",
        str(rack_path),
        "--quiet",
        "--ready-file",
        str(ready),
        "--parent-pid",
        str(os.getpid()),
    ]
    for s in scenarios:
        cmd += ["--scenario", str(s)]
    if station is not None:
        cmd += ["--station", str(station)]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "") if "PYTHONPATH" in env else root
    log = open(log_path, "wb")  # noqa: SIM115 - owned by the child for its lifetime
    # Its own session: a Ctrl-C at the terminal reaches rackval only, which restores
    # what the run changed on the (still running) simulated devices and then stops
    # them. A real rack does not power down when the technician presses Ctrl-C.
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    return SimLaunch(proc, workdir, ready, log_path, time.monotonic() + timeout)


def start_sim_process(
    rack_path: Path,
    scenarios: list[Path],
    *,
    timeout: float = 60.0,
    workdir: Path | None = None,
    station: Path | None = None,
) -> SimProcess:
    """Start ``python -m simulators.rack`` for ``rack_path`` and wait until it is serving."""
    return launch_sim_process(
        rack_path, scenarios, timeout=timeout, workdir=workdir, station=station
    ).wait_ready()
