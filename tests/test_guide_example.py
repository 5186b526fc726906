"""The guide's worked example runs in CI: it is the real suite, it passes, its scenario fails it."""

from __future__ import annotations

import re

import yaml

from rackval.cli import EXIT_FAILED, EXIT_PASSED
from rackval.limits import load_limits
from simulators.scenario import load_scenario
from tests.test_cli_run import LIMITS, ROOT, SCENARIOS, base_args, run_pipe

GUIDE = ROOT / "docs" / "guide.md"
SUITE = ROOT / "suites" / "example_inlet"
SCENARIO = SCENARIOS / "phase-over-budget.yaml"


def code_blocks(text: str, lang: str) -> list[str]:
    return [m.strip() for m in re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)]


def test_the_guide_shows_the_suite_as_it_is():
    guide = GUIDE.read_text(encoding="utf-8")
    python = code_blocks(guide, "python")
    assert (SUITE / "conftest.py").read_text().strip() in python
    assert (SUITE / "test_inlet.py").read_text().strip() in python
    assert SCENARIO.read_text().strip() in code_blocks(guide, "yaml")
    limit_block = next(b for b in code_blocks(guide, "yaml") if b.startswith("phase_power:"))
    shown = yaml.safe_load(limit_block)["phase_power"]
    assert load_limits(LIMITS).get("phase_power").model_dump(exclude_defaults=True) == shown


def test_the_example_passes_on_the_simulated_rack(tmp_path):
    run = run_pipe(*base_args(tmp_path, "--sim", "--suite", "example_inlet"))
    assert run.returncode == EXIT_PASSED, run.stdout + run.stderr
    assert "2 passed, 0 failed" in run.stdout


def test_its_scenario_fails_exactly_the_items_it_names(tmp_path):
    """Like the fault matrix, over the suites that read the PDUs (power and the example)."""
    run = run_pipe(
        *base_args(tmp_path, "--sim", str(SCENARIO), "--suite", "power", "--suite", "example_inlet")
    )
    assert run.returncode == EXIT_FAILED, run.stdout + run.stderr
    failed = set(re.findall(r"^FAIL \[\d+/\d+\] \S+ (\S+?)(?: \(\w+\))?: ", run.stdout, flags=re.M))
    assert failed == set(load_scenario(SCENARIO).expect.failures)
    assert "test_inlet_power[pdu-a]: pdu-a/L2: phase_power = " in run.stdout
