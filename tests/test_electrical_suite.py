"""The electrical suite end to end: a subprocess pytest run against the simulated demo rack,
nominal and under each electrical fault scenario."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from simulators.scenario import load_scenario
from tests.suite_runner import expected_failures

ROOT = Path(__file__).resolve().parent.parent
RACK = ROOT / "fixtures" / "racks" / "demo.yaml"
SCENARIOS = ROOT / "fixtures" / "scenarios"
LIMITS = ROOT / "fixtures" / "limits" / "demo-limits.yaml"
FAULTS = [
    "busbar-out-of-range",
    "poor-load-regulation",
    "instrument-no-answer",
    "instrument-garbled",
    "instrument-reports-error",
]
ALL_ITEMS = {
    "test_instrument_identity[dmm-1]",
    "test_instrument_identity[eload-1]",
    "test_instrument_identity[psu-1]",
    "test_instrument_calibration_due[dmm-1]",
    "test_instrument_calibration_due[eload-1]",
    "test_instrument_calibration_due[psu-1]",
    "test_busbar_voltage[busbar-48v]",
    "test_load_regulation[shelf-1-out]",
    "test_supply_output[psu-1]",
    "test_supply_overvoltage_protection[psu-1]",
}
# records, after each test's teardown, what the simulated instruments say about themselves
PROBE = """
import json, os
import pytest
from rackval.plugin import rack_run

@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    state = rack_run(item.config)
    if state is not None and state.sim is not None and nextitem is not None:
        sims = state.sim.control("state")
        record = {"test": item.name, "state": {n: sims[n] for n in ("eload-1", "psu-1")}}
        with open(os.environ["H4_PROBE_OUT"], "a") as out:
            out.write(json.dumps(record) + "\\n")
    return result
"""


@pytest.fixture(scope="module")
def limits_file() -> Path:
    return LIMITS


def run_suite(tmp_path: Path, limits: Path, *scenarios: Path, probe: bool = False):
    junit = tmp_path / "junit.xml"
    cmd = [
        sys.executable, "-m", "pytest", str(ROOT / "suites" / "electrical"),
        "--rack", str(RACK), "--limits", str(limits),
        "--results-dir", str(tmp_path / "results"), f"--junitxml={junit}", "-q",
        "-p", "no:cacheprovider", "--rootdir", str(ROOT),
    ]  # fmt: skip
    cmd += ["--sim"] if not scenarios else [a for s in scenarios for a in ("--sim", str(s))]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), str(ROOT), env.get("PYTHONPATH")]))
    if probe:
        (tmp_path / "h4probe.py").write_text(PROBE)
        cmd += ["-p", "h4probe"]
        env["H4_PROBE_OUT"] = str(tmp_path / "probe.jsonl")
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert junit.exists(), proc.stdout + proc.stderr
    cases = {}
    for case in ET.parse(junit).iter("testcase"):
        bad = [c for c in case if c.tag in ("failure", "error")]
        cases[case.get("name")] = (bad[0].get("message") or bad[0].text or "") if bad else None
    return proc, cases


def test_nominal_demo_rack_passes(tmp_path, limits_file):
    proc, cases = run_suite(tmp_path, limits_file)
    assert set(cases) == ALL_ITEMS, proc.stdout
    assert {n for n, msg in cases.items() if msg is not None} == set(), proc.stdout
    assert proc.returncode == 0


@pytest.mark.parametrize("name", FAULTS)
def test_each_fault_fails_exactly_its_checks(tmp_path, limits_file, name):
    scenario_path = SCENARIOS / f"{name}.yaml"
    expected = expected_failures(load_scenario(scenario_path).expect, sorted(ALL_ITEMS))
    assert expected
    proc, cases = run_suite(tmp_path, limits_file, scenario_path)
    assert set(cases) == ALL_ITEMS, proc.stdout
    failed = {n for n, msg in cases.items() if msg is not None}
    assert failed == expected, proc.stdout
    for item in failed:  # actionable: names the instrument or test point, no traceback noise
        message = cases[item]
        assert any(word in message for word in ("dmm-1", "eload-1", "busbar-48v", "shelf-1-out")), message
    if name == "instrument-no-answer":  # fails within its timeout, saying where and what
        message = cases["test_instrument_identity[eload-1]"]
        assert "eload-1: timeout during '*IDN?' on TCPIP0::127.0.0.1::" in message
        assert "no answer within 2000 ms" in message


def test_a_failing_test_leaves_its_instruments_safe(tmp_path, limits_file):
    """Instruments that fail mid-test (input/output on) are switched off by the test's teardown."""
    scenario = tmp_path / "fail-while-on.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {
                "name": "fail-while-on",
                "faults": [
                    {"device": "eload-1", "kind": "error_on", "command": "MEAS:CURR?"},
                    {"device": "psu-1", "kind": "error_on", "command": "MEAS:CURR?"},
                ],
            }
        )
    )
    proc, cases = run_suite(tmp_path, limits_file, scenario, probe=True)
    assert cases["test_load_regulation[shelf-1-out]"] is not None, proc.stdout
    assert cases["test_supply_output[psu-1]"] is not None, proc.stdout
    assert '-240,"Hardware error"' in cases["test_load_regulation[shelf-1-out]"]
    records = {
        r["test"]: r["state"] for r in map(json.loads, (tmp_path / "probe.jsonl").read_text().splitlines())
    }
    after_load = records["test_load_regulation[shelf-1-out]"]
    assert after_load["eload-1"]["input_on"] is False
    assert after_load["eload-1"]["current_set"] == 0.0
    after_supply = records["test_supply_output[psu-1]"]
    assert after_supply["psu-1"]["output_on"] is False
    assert after_supply["psu-1"]["voltage_set"] == 0.0
