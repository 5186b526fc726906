"""The fault matrix: every scenario fails exactly the items it names, and the run finishes.

Each scenario file under fixtures/scenarios/ states which test items must fail
(``expect.failures``). The whole acceptance run goes against the simulated demo
rack with that scenario's faults; the items that fail must be exactly those
(no fewer, no more), with messages naming the device, and every collected
item must have a result.
"""

from __future__ import annotations

import pytest

from simulators.scenario import load_scenario, load_scenarios
from tests.conftest import DEMO_RACK, SCENARIOS
from tests.suite_runner import expected_failures, run_suites

SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))


def check_run(tmp_path, scenario_paths):
    scenario = load_scenarios(scenario_paths)
    run = run_suites(tmp_path, DEMO_RACK, scenarios=scenario_paths)
    assert run.returncode in (0, 1), f"run did not finish normally ({run.returncode}):\n{run.output[-3000:]}"
    ids = list(run.outcomes)
    assert ids, f"no results:\n{run.output[-3000:]}"
    expected = expected_failures(scenario.expect, ids)
    failed = run.failed()
    assert failed - expected == set(), "failed but not expected:\n" + "\n".join(
        f"{t}: {run.outcomes[t].message[:300]}" for t in sorted(failed - expected)
    )
    assert expected - failed == set(), f"expected to fail but did not: {sorted(expected - failed)}"
    for test_id in failed:
        param = test_id[test_id.index("[") + 1 : -1]
        device = param.split("/")[0]
        assert device in run.outcomes[test_id].message, (
            f"{test_id}: message does not name {device}: {run.outcomes[test_id].message[:300]}"
        )
    assert run.returncode == (1 if expected else 0)
    return run


@pytest.mark.parametrize("scenario_file", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_scenario_fails_exactly_its_items(tmp_path, scenario_file):
    check_run(tmp_path, [scenario_file])


def test_every_scenario_states_its_expectation():
    for path in SCENARIO_FILES:
        scenario = load_scenario(path)
        assert scenario.description, f"{path.name}: say what the fault is"
        if scenario.faults:
            assert scenario.expect.failures, f"{path.name}: a fault scenario must name what it breaks"


def test_combined_scenarios_fail_the_union(tmp_path):
    check_run(
        tmp_path,
        [SCENARIOS / "dead-outlet.yaml", SCENARIOS / "pdu-firmware-mismatch.yaml"],
    )
