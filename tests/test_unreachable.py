"""An unreachable device fails its own tests fast; the other devices are tested normally.

Its first failure is remembered: later tests of the same device fail at once
with the same cause instead of each waiting out the timeout. The silent
simulator still counts the requests it received, which shows that.
"""

from __future__ import annotations

import subprocess
import sys

from rackval.simprocess import start_sim_process
from tests.conftest import ROOT, SCENARIOS
from tests.suite_runner import read_junit

RACK = ROOT / "fixtures" / "racks" / "power-only.yaml"


def test_silent_pdu_is_asked_once_and_its_tests_fail_fast(tmp_path):
    sim = start_sim_process(RACK, [SCENARIOS / "pdu-no-answer.yaml"], workdir=tmp_path / "sim")
    try:
        junit = tmp_path / "junit.xml"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                str(ROOT / "suites" / "power"),
                f"--rack={RACK}",
                "--endpoints",
                str(sim.workdir / "endpoints.json"),
                "--results-dir",
                str(tmp_path / "r"),
                f"--junitxml={junit}",
                "-p",
                "no:cacheprovider",
                "-q",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        stats = sim.control("stats")
    finally:
        sim.stop()
    assert proc.returncode == 1, proc.stdout[-2000:]
    outcomes = read_junit(junit)
    pdu_b = {t: o for t, o in outcomes.items() if "[pdu-b" in t}
    pdu_a = {t: o for t, o in outcomes.items() if "[pdu-a" in t}
    assert pdu_b and all(o.outcome == "failed" for o in pdu_b.values())
    assert all("timeout" in o.message and "pdu-b" in o.message for o in pdu_b.values())
    assert sum("not retried" in o.message for o in pdu_b.values()) >= len(pdu_b) - 1
    assert pdu_a and all(o.outcome in ("passed", "skipped") for o in pdu_a.values())
    # one snapshot attempt (a few concurrent reads, each retried once), not one wait per test
    assert 0 < stats["pdu-b"]["requests"] <= 12 < len(pdu_b)
