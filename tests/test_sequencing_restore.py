"""Power-on sequencing that fails part-way leaves the rack as it found it.

The simulated rack runs in its own process, so its state can be read after the
sequencing run has ended. Under the missing-cable scenario tray-05's link never
comes up: its power-on step fails after every tray was switched off and on
again. Afterwards every tray must be On (as before the run), every outlet on,
and the journal must hold nothing left to restore.
"""

from __future__ import annotations

import signal
import subprocess
import time

import yaml

from rackval.journal import pending_for_rack
from rackval.simprocess import start_sim_process
from tests.conftest import DEMO_RACK, ROOT, SCENARIOS
from tests.suite_runner import run_suites, suite_command

LIMITS = ROOT / "fixtures" / "limits" / "demo-limits.yaml"


def quick_limits(tmp_path):
    """The demo limits with a short wait for links: the failure comes sooner, the verdict is the same."""
    data = yaml.safe_load(LIMITS.read_text())
    data["limits"]["link_up_s"]["high"] = 3
    path = tmp_path / "limits.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_failed_sequence_restores_every_tray_and_outlet(tmp_path):
    sim = start_sim_process(DEMO_RACK, [SCENARIOS / "missing-cable.yaml"], workdir=tmp_path / "sim")
    try:
        before = sim.control("state")
        trays = sorted(name for name, s in before.items() if isinstance(s, dict) and "resets" in s)
        assert len(trays) == 8, before
        assert {before[t]["power"] for t in trays} == {"On"}
        pdus = [name for name, s in before.items() if isinstance(s, dict) and "outlets" in s]
        outlets_before = {name: before[name]["outlets"] for name in pdus}

        run = run_suites(
            tmp_path,
            DEMO_RACK,
            suites=["sequencing"],
            extra=[
                *("--endpoints", str(sim.workdir / "endpoints.json")),
                *("--limits", str(quick_limits(tmp_path))),
            ],
            simulate=False,
            timeout=300,
        )
        assert run.returncode == 1, run.output[-3000:]
        assert run.failed() == {"test_3_tray_powers_on[tray-05]"}, run.output[-3000:]
        assert "tray-05" in run.outcomes["test_3_tray_powers_on[tray-05]"].message

        after = sim.control("state")
        for tray in trays:
            assert after[tray]["power"] == "On", f"{tray} left {after[tray]['power']}"
            assert after[tray]["resets"][-2:] == ["ForceOff", "On"], f"{tray}: {after[tray]['resets']}"
        assert {n: after[n]["outlets"] for n in outlets_before} == outlets_before
        assert pending_for_rack(tmp_path / "results", "RK-DEMO-0001") == []
    finally:
        sim.stop()


def test_interrupt_while_the_trays_go_off_puts_back_those_already_off(tmp_path):
    """Ctrl-C in the middle of switching the trays off (the fixture's setup, which has no teardown).

    tray-05's BMC never answers, so the switching-off waits on it for its timeout
    while the other seven are already off: the Ctrl-C lands there, every time.
    """
    sim = start_sim_process(DEMO_RACK, [SCENARIOS / "bmc-no-answer.yaml"], workdir=tmp_path / "sim")
    try:
        state = sim.control("state")
        trays = sorted(name for name, s in state.items() if isinstance(s, dict) and "resets" in s)
        others = [t for t in trays if t != "tray-05"]
        proc = subprocess.Popen(
            suite_command(
                tmp_path,
                DEMO_RACK,
                suites=["sequencing"],
                extra=[
                    *("--endpoints", str(sim.workdir / "endpoints.json")),
                    *("--limits", str(quick_limits(tmp_path))),
                ],
                simulate=False,
            ),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                state = sim.control("state")
                if all(state[t]["power"] == "Off" for t in others):
                    break
                assert proc.poll() is None, proc.communicate()[0][-3000:]
                assert time.monotonic() < deadline, f"the trays never went off: {state}"
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 2, out[-3000:]  # pytest's "interrupted"
        # put back as the session closed, just before the run exited: let Reset On finish
        settle = time.monotonic() + 30
        while time.monotonic() < settle:
            state = sim.control("state")
            if all(state[t]["power"] != "PoweringOn" for t in others):
                break
            time.sleep(0.1)
        for tray in others:
            assert state[tray]["power"] == "On", f"{tray} left {state[tray]['power']}:\n{out[-3000:]}"
            assert state[tray]["resets"][-2:] == ["ForceOff", "On"], f"{tray}: {state[tray]['resets']}"
        assert pending_for_rack(tmp_path / "results", "RK-DEMO-0001") == []
    finally:
        sim.stop()
