"""``rackval run`` as a technician sees it: in a pipe (plain lines) and in a pseudo-terminal.

Runs the real command in a child process against the simulated PDU-only rack
and checks what is printed: progress, failures as they happen, the banner,
and the documented exit codes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from rackval.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_PASSED, EXIT_UNREACHABLE, EXIT_USAGE
from rackval.journal import pending_for_rack

ROOT = Path(__file__).resolve().parent.parent
RACK = ROOT / "fixtures" / "racks" / "power-only.yaml"
DEMO_RACK = ROOT / "fixtures" / "racks" / "demo.yaml"
LIMITS = ROOT / "fixtures" / "limits" / "demo-limits.yaml"
SCENARIOS = ROOT / "fixtures" / "scenarios"
CLI = [sys.executable, "-c", "from rackval.cli import main; main()"]


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RACKVAL_OPERATOR", None)
    env.update(extra)
    return env


def run_pipe(*args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=cli_env(**env),
    )


def base_args(tmp_path: Path, *more: str) -> list[str]:
    return ["run", str(RACK), "--limits", str(LIMITS), "--results-dir", str(tmp_path), *more]


class Pty:
    """A child process on a pseudo-terminal; ``output`` is everything it printed."""

    def __init__(self, args: list[str], cmd: list[str] | None = None, cwd: Path = ROOT, **env: str):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.master = master
        self.proc = subprocess.Popen(
            cmd or [*CLI, *args],
            cwd=cwd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            # a run that hangs is made to print every thread's stack before it is killed (finish)
            env=cli_env(TERM="xterm-256color", PYTHONFAULTHANDLER="1", **env),
            start_new_session=True,
        )
        os.close(slave)
        self.raw = b""

    @property
    def output(self) -> str:
        return self.raw.decode("utf-8", "replace")

    def read_until(self, text: str, timeout: float = 120) -> bool:
        deadline = time.monotonic() + timeout
        while text not in self.output and time.monotonic() < deadline:
            if not self._read(0.2) and self.proc.poll() is not None:
                break
        return text in self.output

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.raw += chunk
        return bool(chunk)

    def write(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 240) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self._read(0.2)
            if not got and self.proc.poll() is not None:
                break
        if self.proc.poll() is None:
            # still running: SIGABRT makes faulthandler print where each thread waits (into
            # ``output``, for the failing assertion), then the whole group is killed
            os.kill(self.proc.pid, signal.SIGABRT)
            stop = time.monotonic() + 5
            while time.monotonic() < stop and self.proc.poll() is None:
                self._read(0.2)
            while self._read(0.2):
                pass
            with contextlib.suppress(ProcessLookupError):  # none of the group is left
                os.killpg(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait(10)
        os.close(self.master)
        return code


# -- a pipe: plain lines -------------------------------------------------------------


def test_pipe_pass_prints_progress_and_pass_banner(tmp_path):
    run = run_pipe(*base_args(tmp_path, "--sim", "--suite", "example_inlet"))
    out = run.stdout
    assert run.returncode == EXIT_PASSED, out + run.stderr
    assert "\x1b[" not in out, "a pipe gets plain text, no terminal escapes"
    assert "rackval: rack RK-DEMO-0001: 2 tests in example_inlet" in out
    assert "pre-flight: 2 device(s) ready" in out
    assert "progress: 2/2 done, 2 passed, 0 failed" in out
    assert "RESULT: PASS" in out
    assert "2 passed, 0 failed, 0 skipped" in out
    assert f"results: {tmp_path / 'results.db'}" in out
    assert "FAIL" not in out


def test_pipe_failure_appears_when_it_happens_and_banner_groups_by_device(tmp_path):
    scenario = SCENARIOS / "phase-over-budget.yaml"
    run = run_pipe(*base_args(tmp_path, "--sim", str(scenario), "--suite", "example_inlet"))
    out = run.stdout
    assert run.returncode == EXIT_FAILED, out + run.stderr
    live_line = "FAIL [1/2] example_inlet test_inlet_power[pdu-a]: pdu-a/L2: phase_power = "
    assert live_line in out
    banner = out.index("RESULT: FAIL")
    assert out.index(live_line) < banner, "the failure is printed before the end of the run"
    tail = out[banner:]
    assert "rack RK-DEMO-0001 (AIR-42U-DEMO)" in tail
    assert "pdu-a: 1 failed" in tail
    assert "  - test_inlet_power[pdu-a]: pdu-a/L2: phase_power" in tail
    assert "expected ≤ 2300 W" in tail
    assert "pdu-b:" not in tail


def test_rack_not_ready_stops_before_the_suites(tmp_path):
    scenario = SCENARIOS / "wrong-snmp-credentials.yaml"
    run = run_pipe(*base_args(tmp_path, "--sim", str(scenario), "--suite", "power"))
    out = run.stdout
    assert run.returncode == EXIT_UNREACHABLE, out + run.stderr
    assert "pdu-a: credentials rejected" in out
    assert "RESULT: NOT READY" in out
    assert "0 passed, 0 failed, 0 skipped, 82 not run" in out
    assert "FAIL [" not in out, "no test ran against a rack that is not ready"


def test_usage_errors_have_their_own_exit_code(tmp_path):
    missing = run_pipe("run", str(tmp_path / "nope.yaml"), "--sim")
    assert missing.returncode == EXIT_USAGE
    assert "nope.yaml: file not found" in missing.stderr
    unknown = run_pipe(*base_args(tmp_path, "--sim", "--suite", "no-such-suite"))
    assert unknown.returncode == EXIT_USAGE
    assert "no suite named no-such-suite" in unknown.stderr
    nothing = run_pipe(*base_args(tmp_path, "--sim", "--suite", "example_inlet", "-k", "nothing"))
    assert nothing.returncode == EXIT_USAGE, nothing.stdout


def test_engineers_get_pytest_output_with_passthrough(tmp_path):
    run = run_pipe(*base_args(tmp_path, "--sim", "--suite", "example_inlet", "--", "-v"))
    assert run.returncode == EXIT_PASSED, run.stdout + run.stderr
    assert "test_inlet.py::test_inlet_power[pdu-b] PASSED" in run.stdout
    assert "RESULT: PASS" in run.stdout


# -- a pseudo-terminal: the live display ---------------------------------------------------


def test_terminal_shows_live_progress_failures_and_big_banner(tmp_path):
    scenario = SCENARIOS / "phase-over-budget.yaml"
    term = Pty(base_args(tmp_path, "--sim", str(scenario), "--suite", "example_inlet"))
    code = term.finish()
    out = term.output
    assert code == EXIT_FAILED, out
    assert "\x1b[" in out, "a terminal gets rich output"
    assert "remaining" in out and "passed" in out, "the live display was drawn"
    assert "test_inlet_power[pdu-a]" in out
    assert "FAIL [1/2] example_inlet test_inlet_power[pdu-a]" in out
    assert "█████" in out, "the banner is in large block letters"
    assert "rack RK-DEMO-0001 (AIR-42U-DEMO)" in out
    assert "pdu-a: 1 failed" in out


def test_interrupt_restores_and_exits_130(tmp_path):
    slow = tmp_path / "slow.yaml"
    slow.write_text("name: slow\ndescription: slow PDUs\nlatency_ms: {snmp: 40}\n")
    term = Pty(base_args(tmp_path, "--sim", str(slow), "--suite", "power"))
    assert term.read_until("pre-flight: 2 device(s) ready"), term.output
    time.sleep(0.5)
    os.killpg(term.proc.pid, signal.SIGINT)
    code = term.finish()
    assert code == EXIT_INTERRUPTED, term.output
    assert "INTERRUPTED" in term.output
    # the Ctrl-C reached rackval, not the simulated PDUs: they kept answering, and every
    # outlet the interrupted switching had turned off was turned back on
    assert pending_for_rack(tmp_path, "RK-DEMO-0001") == []


def test_after_ctrl_c_the_banner_comes_once_the_interrupted_test_is_put_back(tmp_path):
    """The interrupted test's own teardown (its ``restore``) runs inside pytest_sessionfinish;
    the banner waits for it, so INTERRUPTED on the screen means the rack is back."""
    suite = ROOT / "tests" / "data" / "destructive_suite"  # switches pdu-a outlet 5 off, then hangs
    args = ["run", str(DEMO_RACK), "--sim", "--suite", str(suite), "--results-dir", str(tmp_path)]
    term = Pty(args, RACKVAL_BREAK="hang")
    deadline = time.monotonic() + 120
    while not pending_for_rack(tmp_path, "RK-DEMO-0001"):  # journaled: the change is being made
        assert term.proc.poll() is None and time.monotonic() < deadline, term.output
        term._read(0.1)
    time.sleep(0.5)
    os.killpg(term.proc.pid, signal.SIGINT)
    assert term.read_until("INTERRUPTED", timeout=60), term.output
    left_at_banner = pending_for_rack(tmp_path, "RK-DEMO-0001")
    code = term.finish()
    assert code == EXIT_INTERRUPTED, term.output
    assert left_at_banner == [], term.output
    assert "NOT PUT BACK" not in term.output


@pytest.mark.parametrize("pytest_code,expected", [(0, 0), (1, 1), (4, 2), (5, 2), (3, 4), (43, 3)])
def test_exit_code_mapping(pytest_code, expected):
    from rackval.cli import exit_code

    assert exit_code(pytest_code) == expected
