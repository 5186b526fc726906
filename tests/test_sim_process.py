"""The simulated rack's child process: its lifetime follows the run that started it.

It runs in its own session, so a Ctrl-C at the terminal reaches rackval only
(which restores the rack, then stops it); and it stops by itself when the
process that started it is killed outright.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from rackval.results.store import process_alive
from tests.conftest import ROOT

RACK = ROOT / "fixtures" / "racks" / "power-only.yaml"

STARTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from rackval.simprocess import start_sim_process
    sim = start_sim_process(Path(sys.argv[1]), [], workdir=Path(sys.argv[2]))
    print("serving", flush=True)
    time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    return process_alive(pid, None)  # a zombie counts as gone: it has stopped serving


def _start(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    workdir = tmp_path / "sim"
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(RACK), str(workdir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert starter.stdout is not None and starter.stdout.readline().strip() == "serving"
    return starter, json.loads((workdir / "endpoints.json").read_text())["pid"]


def test_simulated_rack_stops_when_its_run_is_killed(tmp_path):
    starter, sim_pid = _start(tmp_path)
    assert _alive(sim_pid)
    starter.kill()  # SIGKILL: no teardown runs in the starter
    starter.wait()
    deadline = time.monotonic() + 30
    while _alive(sim_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _alive(sim_pid)
    if alive:
        os.kill(sim_pid, signal.SIGKILL)
    assert not alive, "the simulated rack kept running after its run was killed"


def test_simulated_rack_is_not_in_the_runs_process_group(tmp_path):
    """A terminal's Ctrl-C goes to the foreground process group; the simulators are not in it."""
    starter, sim_pid = _start(tmp_path)
    try:
        assert os.getpgid(sim_pid) != os.getpgid(starter.pid)
        assert os.getsid(sim_pid) != os.getsid(starter.pid)
    finally:
        starter.kill()
        starter.wait()
        os.kill(sim_pid, signal.SIGTERM)


def test_a_simulated_rack_stops_its_devices_all_at_once(capsys):
    """Each device's stop waits for the others' (a barrier): stopped one after another, none could return."""
    from rackval.model import load_rack
    from simulators.base import SimHandle
    from simulators.rack import SimulatedRack

    sim = SimulatedRack(load_rack(ROOT / "fixtures" / "racks" / "demo.yaml"))
    names = ["pdu-a", "leaf-1", "tray-01", "cdu-1"]
    barrier = threading.Barrier(len(names), timeout=10)
    stopped = []

    def stop_after_the_others(name: str) -> None:
        barrier.wait()
        stopped.append(name)

    for name in names:
        sim.handles[name] = SimHandle(name, {}, stop=lambda name=name: stop_after_the_others(name))
    sim.handles["shelf-1-pmc"] = SimHandle("shelf-1-pmc", {}, stop=lambda: 1 / 0)  # a stop that fails
    sim.stop()
    assert sorted(stopped) == sorted(names)
    assert sim.handles == {}
    assert "simulator shelf-1-pmc: error while stopping: division by zero" in capsys.readouterr().err


def test_a_run_asks_its_simulators_to_stop_and_reaps_them_later(tmp_path):
    from rackval.simprocess import start_sim_process

    sim = start_sim_process(RACK, [], workdir=tmp_path / "sim")
    sim.begin_stop()
    deadline = time.monotonic() + 30
    while sim.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.process.returncode == 0, "SIGTERM: the simulated rack stops cleanly by itself"
    sim.stop()  # reaped already: returns at once, and a second stop is harmless
    sim.stop()
