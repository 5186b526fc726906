"""A run that fails, is interrupted or is killed leaves the rack safe (or restorable).

The simulated rack runs in its own process for the whole test, so its state
can be read after the run that changed it has ended.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rackval.journal import pending_for_rack
from rackval.simprocess import start_sim_process
from tests.conftest import DEMO_RACK, ROOT

SUITE = ROOT / "tests" / "data" / "destructive_suite"
RACK = DEMO_RACK


@pytest.fixture
def sim(tmp_path):
    proc = start_sim_process(RACK, [], workdir=tmp_path / "sim")
    yield proc
    proc.stop()


def outlet_state(sim, device: str, index: int) -> str:
    return sim.control("state")[device]["outlets"][str(index)]


def instruments_driving(sim) -> dict[str, bool]:
    state = sim.control("state")
    return {"eload-1": state["eload-1"]["input_on"], "psu-1": state["psu-1"]["output_on"]}


def assert_rack_safe(sim) -> None:
    assert outlet_state(sim, "pdu-a", 5) == "on"
    assert instruments_driving(sim) == {"eload-1": False, "psu-1": False}


def start_run(tmp_path, sim, mode: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(SUITE),
        "--rack",
        str(RACK),
        "-p",
        "no:cacheprovider",
        "--endpoints",
        str(sim.workdir / "endpoints.json"),
        "--results-dir",
        str(tmp_path / "results"),
        "-s",
        "-q",
    ]
    env = {**os.environ, "RACKVAL_BREAK": mode}
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_for_outlet_off(proc: subprocess.Popen) -> str:
    seen = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        if "RACK-IS-CHANGED" in line:
            return seen
    pytest.fail(f"the run never switched the outlet off:\n{seen}")


def test_failing_destructive_test_restores_outlet(tmp_path, sim):
    assert outlet_state(sim, "pdu-a", 5) == "on"
    proc = start_run(tmp_path, sim, "fail")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out
    assert "deliberate failure" in out
    assert_rack_safe(sim)
    assert pending_for_rack(tmp_path / "results", "RK-DEMO-0001") == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_run_restores_outlet(tmp_path, sim, signum):
    proc = start_run(tmp_path, sim, "hang")
    wait_for_outlet_off(proc)
    assert outlet_state(sim, "pdu-a", 5) == "off"
    assert instruments_driving(sim) == {"eload-1": True, "psu-1": True}
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out
    assert_rack_safe(sim)
    assert pending_for_rack(tmp_path / "results", "RK-DEMO-0001") == []


def test_killed_run_is_restored_from_the_journal(tmp_path, sim):
    proc = start_run(tmp_path, sim, "hang")
    wait_for_outlet_off(proc)
    proc.kill()
    proc.wait(30)
    assert outlet_state(sim, "pdu-a", 5) == "off"  # nobody could restore it
    assert instruments_driving(sim) == {"eload-1": True, "psu-1": True}
    (pending,) = pending_for_rack(tmp_path / "results", "RK-DEMO-0001")
    assert (pending[1].device, pending[1].target, pending[1].restore_to) == ("pdu-a", 5, "on")

    restored = subprocess.run(
        [
            sys.executable,
            "-m",
            "rackval",
            "restore",
            str(RACK),
            "--results-dir",
            str(tmp_path / "results"),
            "--endpoints",
            str(sim.workdir / "endpoints.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restored  pdu-a outlet 5 -> on" in restored.stdout
    assert "restored  eload-1 outputs and inputs off" in restored.stdout
    assert_rack_safe(sim)
    assert pending_for_rack(tmp_path / "results", "RK-DEMO-0001") == []
