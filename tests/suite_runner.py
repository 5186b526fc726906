"""Run acceptance suites in a child pytest against a simulated rack and read what happened.

The child writes pytest's own JUnit XML; this module turns it into
``{test_id: Outcome}`` where ``test_id`` is ``test_name[param-id]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from simulators.scenario import Expectation
from tests.conftest import ROOT


def expected_failures(expectation: Expectation, test_ids: list[str]) -> set[str]:
    """The ``test_ids`` the scenario says must fail; every pattern must match one of them."""
    assert expectation.unmatched(test_ids) == [], "the scenario names tests that do not exist"
    return expectation.expand(test_ids)


@dataclass(frozen=True)
class Outcome:
    outcome: str  # passed, failed, error, skipped
    message: str


@dataclass
class SuiteRun:
    returncode: int
    outcomes: dict[str, Outcome]
    output: str

    def failed(self) -> set[str]:
        return {t for t, o in self.outcomes.items() if o.outcome in ("failed", "error")}


def read_junit(path: Path) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "")
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            el = case.find(tag)
            if el is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (el.get("message") or "") + "\n" + (el.text or "")
                break
        if name in outcomes and outcomes[name].outcome != "passed":
            continue  # a teardown error is reported as a second testcase; keep the first failure
        outcomes[name] = Outcome(outcome, message.strip())
    return outcomes


def suite_command(
    tmp_path: Path,
    rack: Path,
    *,
    scenarios: list[Path] = (),
    suites: list[str] = (),
    extra: list[str] = (),
    simulate: bool = True,
) -> list[str]:
    """The child pytest's command line: results under ``tmp_path``, JUnit XML in ``tmp_path/junit.xml``."""
    suite_dirs = [str(ROOT / "suites" / s) for s in suites] or [str(ROOT / "suites")]
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *suite_dirs,
        "--rack",
        str(rack),
        "-p",
        "no:cacheprovider",
    ]
    cmd += ["--results-dir", str(tmp_path / "results"), f"--junitxml={tmp_path / 'junit.xml'}", "-q", "-rN"]
    if scenarios:
        for s in scenarios:
            cmd += ["--sim", str(s)]
    elif simulate:  # otherwise ``extra`` says where the devices are (e.g. --endpoints)
        cmd += ["--sim"]
    return cmd + list(extra)


def run_suites(
    tmp_path: Path,
    rack: Path,
    *,
    scenarios: list[Path] = (),
    suites: list[str] = (),
    extra: list[str] = (),
    timeout: float = 600,
    env: dict[str, str] | None = None,
    simulate: bool = True,
) -> SuiteRun:
    junit = tmp_path / "junit.xml"
    cmd = suite_command(tmp_path, rack, scenarios=scenarios, suites=suites, extra=extra, simulate=simulate)
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    outcomes = read_junit(junit) if junit.exists() else {}
    return SuiteRun(proc.returncode, outcomes, proc.stdout + proc.stderr)
