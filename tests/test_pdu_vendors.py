"""Both PDU vendors fail the power suite the same way under the same fault.

The demo rack mixes vendors: pdu-a is an APC rPDU2 (PowerNet-MIB), pdu-b a
Raritan PX (PDU2-MIB). Each PDU fault scenario of the fault matrix targets
one of them; here each is also mirrored onto the other PDU (pdu-a <-> pdu-b,
same outlet numbers: the two PDUs feed the two PSUs of the same servers), and
the power suite must fail exactly the mirrored items. Only the power suite
runs: the cross-device effects (a shelf fed from pdu-a) are the fault
matrix's business.
"""

from __future__ import annotations

import re

import pytest

from simulators.scenario import load_scenario
from tests.conftest import DEMO_RACK, SCENARIOS
from tests.suite_runner import run_suites

PDU_SCENARIOS = sorted(
    path for path in SCENARIOS.glob("*.yaml") if re.search(r"device: *\"?pdu-[ab]\b", path.read_text())
)
SWAP = {"pdu-a": "pdu-b", "pdu-b": "pdu-a"}


def mirrored(text: str) -> str:
    return re.sub(r"pdu-[ab]\b", lambda m: SWAP[m.group(0)], text)


def test_every_pdu_fault_kind_is_covered_on_both_vendors():
    kinds = {load_scenario(p).faults[0].kind for p in PDU_SCENARIOS}
    assert {"dead_outlet", "overcurrent", "phase_imbalance", "firmware", "garbled"} <= kinds
    assert {"no_answer", "wrong_credentials"} <= kinds


@pytest.mark.parametrize("scenario_file", PDU_SCENARIOS, ids=[p.stem for p in PDU_SCENARIOS])
def test_mirrored_fault_fails_the_other_vendor_alike(tmp_path, scenario_file):
    original = load_scenario(scenario_file)
    mirror = tmp_path / f"mirrored-{scenario_file.name}"
    mirror.write_text(mirrored(scenario_file.read_text()))
    scenario = load_scenario(mirror)
    device = scenario.faults[0].device
    assert device != original.faults[0].device

    run = run_suites(tmp_path, DEMO_RACK, scenarios=[mirror], suites=["power"], timeout=300)
    assert run.returncode in (0, 1), f"run did not finish normally ({run.returncode}):\n{run.output[-3000:]}"
    ids = list(run.outcomes)
    expected = scenario.expect.expand(ids)
    assert expected, f"{mirror.name}: no power item of {device} is expected to fail"
    failed = run.failed()
    assert failed == expected, (
        f"{device} (mirrored {scenario_file.stem}): failed but not expected {sorted(failed - expected)}, "
        f"expected but passed {sorted(expected - failed)}"
    )
    for test_id in failed:
        assert device in run.outcomes[test_id].message, f"{test_id}: {run.outcomes[test_id].message[:300]}"
