"""The network suite against the simulated demo rack: nominal, and under every switch fault.

Each run is ``python -m pytest suites/network --rack ... --sim SCENARIO...`` in a
subprocess; its JUnit XML must show exactly the scenario's ``expect.failures`` as
failed and everything else passed. Faults on different switches/ports are combined
into one run (their expectations unite) to keep CI short.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.scenario import load_scenarios
from tests.suite_runner import run_suites

ROOT = Path(__file__).resolve().parent.parent
RACK = ROOT / "fixtures" / "racks" / "demo.yaml"
SCENARIOS = ROOT / "fixtures" / "scenarios"
DEMO_LIMITS = ROOT / "fixtures" / "limits" / "demo-limits.yaml"

RUNS = {
    "nominal": [],
    "cabling-and-counters": ["swapped-cables", "rising-crc", "switch-firmware-mismatch"],
    "links-and-optics": ["missing-cable", "wrong-speed", "low-rx-power"],
    "wrong-password": ["wrong-ssh-password"],
    "hang": ["switch-hangs"],
    "drop": ["switch-drops-session"],
}

# what a technician must read in the failure of these items, per scenario
MESSAGES = {
    "swapped-cables": {"test_lldp_neighbor[leaf-1/Ethernet3]": ["swapped with Ethernet4", "srv-04/eth0"]},
    "missing-cable": {"test_lldp_neighbor[leaf-2/Ethernet16]": ["missing", "srv-05/eth1"]},
    "wrong-speed": {"test_port_link[leaf-1/Ethernet6]": ["port_speed = 25G", "expected 100G"]},
    "low-rx-power": {"test_port_optics[leaf-1/Ethernet31]": ["optic_rx_power_lane3 = -14"]},
    "rising-crc": {"test_port_errors[leaf-2/Ethernet8]": ["port_crc_errors_soak"]},
    "switch-firmware-mismatch": {
        "test_switch_firmware[leaf-2]": ["SONiC.202205.1", "expected SONiC.202311.1"]
    },
    "wrong-ssh-password": {"test_switch_identity[leaf-1]": ["leaf-1", "authentication failed"]},
    "switch-hangs": {"test_switch_identity[leaf-2]": ["leaf-2", "timeout", "show lldp table"]},
    "switch-drops-session": {
        "test_switch_identity[leaf-1]": ["leaf-1", "session dropped", "show interfaces transceiver"]
    },
}


@pytest.mark.parametrize("run", list(RUNS))
def test_suite_under_scenario(run, tmp_path):
    scenarios = RUNS[run]
    suite_run = run_suites(
        tmp_path,
        RACK,
        scenarios=[SCENARIOS / f"{n}.yaml" for n in scenarios],
        suites=["network"],
        extra=["--limits", str(DEMO_LIMITS)],
        timeout=240,
    )
    outcomes = {name: (o.outcome, o.message) for name, o in suite_run.outcomes.items()}
    assert len(outcomes) == 82, f"expected 82 network items, got {len(outcomes)}:\n{suite_run.output[-3000:]}"
    expectation = load_scenarios([SCENARIOS / f"{n}.yaml" for n in scenarios]).expect
    # only the network suite runs here: a scenario's patterns for other suites' items match nothing
    expected = expectation.expand(list(outcomes))
    if scenarios:
        assert expected, f"{run}: the scenarios name no network item"
    failed = {name for name, (outcome, _) in outcomes.items() if outcome != "passed"}
    assert failed - expected == set(), f"unexpected failures: {sorted(failed - expected)}"
    assert expected - failed == set(), f"should have failed: {sorted(expected - failed)}"
    assert {outcomes[n][0] for n in failed} <= {"failed"}, "a fault must fail tests, not error them"
    for scenario in scenarios:
        for name, needles in MESSAGES[scenario].items():
            text = outcomes[name][1]
            for needle in needles:
                assert needle in text, f"{name}: {needle!r} not in failure message {text!r}"
