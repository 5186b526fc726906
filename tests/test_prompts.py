"""Operator prompts: answers files, fail-fast when nobody can answer, a real terminal."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rackval.cli import EXIT_PASSED, EXIT_UNREACHABLE
from rackval.errors import ConfigError
from rackval.prompts import Answers, Operator, PromptError, load_answers
from tests.test_cli_run import LIMITS, RACK, ROOT, Pty, cli_env, run_pipe

STATION = ROOT / "tests" / "data" / "scan-station.yaml"

TEST_FILE = textwrap.dedent(
    """
    def test_manual_steps(operator):
        operator.confirm("Connect the DMM probe to busbar A, then press Enter", key="probe-a")
        serial = operator.scan("Scan the rack serial", key="rack-serial", expected="RK-DEMO-0001")
        temp = operator.enter("Ambient temperature (C)", key="ambient", convert=float)
        assert serial == "RK-DEMO-0001"
        assert 15.0 <= temp <= 35.0
    """
)


# -- the Operator itself -----------------------------------------------------------------


def test_answers_answer_confirm_scan_and_enter():
    op = Operator(Answers({"probe": True, "serial": " RK-1 ", "temp": "23.5", "labels": ["A", "B"]}))
    op.confirm("probe on?", key="probe")
    assert op.scan("serial", key="serial", expected="RK-1") == "RK-1"
    assert op.enter("temp", key="temp", convert=float) == 23.5
    assert op.scan("label", key="labels") == "A"
    assert op.scan("label", key="labels") == "B"
    with pytest.raises(PromptError, match="'labels' has no answer"):
        op.scan("label", key="labels")


def test_declined_wrong_scan_and_bad_value_fail_with_the_key():
    op = Operator(Answers({"probe": "no", "serial": "RK-2", "temp": "warm"}))
    with pytest.raises(PromptError, match="'probe': the operator did not confirm"):
        op.confirm("probe on?", key="probe")
    with pytest.raises(PromptError, match="scanned rack serial 'RK-2', expected 'RK-1'"):
        op.scan("serial", key="serial", expected="RK-1", what="rack serial")
    with pytest.raises(PromptError, match="'warm' is not a valid value"):
        op.enter("temp", key="temp", convert=float)


def test_no_answer_and_nobody_to_ask_fails_at_once():
    op = Operator(Answers({}, source="answers.yaml"))
    with pytest.raises(PromptError, match=r"'probe' has no answer in answers\.yaml and this run is not"):
        op.confirm("Connect the probe", key="probe")


def test_interactive_answers_are_retried_until_valid():
    typed = iter(["warm", "23"])
    op = Operator(None, ask=lambda text: next(typed))
    assert op.enter("temp", key="temp", convert=float) == 23.0


def test_answers_file_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "answers.yaml"
    bad.write_text("answers:\n  ok: yes\n  'bad key!': 1\n")
    with pytest.raises(ConfigError, match=r"answers.yaml:3: answers.bad key!"):
        load_answers(bad)


# -- the operator fixture under pytest (output captured) --------------------------------------


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_manual.py").write_text(TEST_FILE)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            str(tmp_path / "test_manual.py"),
            *args,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=cli_env(),
    )


def test_fixture_takes_answers_from_the_answers_file(tmp_path):
    answers = tmp_path / "answers.yaml"
    answers.write_text("answers:\n  probe-a: yes\n  rack-serial: RK-DEMO-0001\n  ambient: 22.5\n")
    run = run_pytest(tmp_path, "--answers", str(answers))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_unanswered_prompt_fails_its_test_instead_of_hanging(tmp_path):
    answers = tmp_path / "answers.yaml"
    answers.write_text("answers:\n  probe-a: yes\n")
    run = run_pytest(tmp_path, "--answers", str(answers))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "prompt 'rack-serial' has no answer in" in run.stdout
    assert "this run is not interactive: Scan the rack serial" in run.stdout


def test_prompts_work_on_a_terminal_while_pytest_captures(tmp_path):
    (tmp_path / "test_manual.py").write_text(TEST_FILE)
    term = _pytest_on_pty(tmp_path)
    assert term.read_until("then press Enter"), term.output
    term.write("\r")
    assert term.read_until("Scan the rack serial"), term.output
    term.write("RK-DEMO-0001\r")
    assert term.read_until("Ambient temperature"), term.output
    term.write("21\r")
    assert term.finish() == 0, term.output
    assert "1 passed" in term.output


def _pytest_on_pty(tmp_path: Path) -> Pty:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        str(tmp_path / "test_manual.py"),
    ]
    return Pty([], cmd=cmd, cwd=tmp_path)


# -- the station's start-of-run prompts ------------------------------------------------------


def test_station_scans_badge_and_rack_serial_then_runs_its_default_suites(tmp_path):
    answers = tmp_path / "answers.yaml"
    answers.write_text("answers:\n  operator-badge: OP-0042\n  rack-serial: RK-DEMO-0001\n")
    run = run_pipe(
        "run",
        str(RACK),
        "--sim",
        "--station",
        str(STATION),
        "--answers",
        str(answers),
        "--limits",
        str(LIMITS),
        "--results-dir",
        str(tmp_path),
    )
    assert run.returncode == EXIT_PASSED, run.stdout + run.stderr
    assert "2 tests in example_inlet" in run.stdout, "the station's default suite ran"
    reports = list((tmp_path / "reports").glob("*.xml"))
    assert len(reports) == 1, "the station's report format was written"
    assert f"report: {reports[0]}" in run.stdout
    assert "OP-0042" in reports[0].read_text(), "the scanned badge is the run's operator"


def test_wrong_rack_serial_scanned_stops_the_run(tmp_path):
    answers = tmp_path / "answers.yaml"
    answers.write_text("answers:\n  operator-badge: OP-0042\n  rack-serial: RK-OTHER-9\n")
    run = run_pipe(
        "run",
        str(RACK),
        "--sim",
        "--station",
        str(STATION),
        "--answers",
        str(answers),
        "--limits",
        str(LIMITS),
        "--results-dir",
        str(tmp_path),
    )
    assert run.returncode == EXIT_UNREACHABLE, run.stdout + run.stderr
    assert "scanned rack serial 'RK-OTHER-9', expected 'RK-DEMO-0001'" in run.stderr
    assert "RESULT" not in run.stdout, "no suite started"
