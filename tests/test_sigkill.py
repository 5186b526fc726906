"""A run killed with SIGKILL keeps everything it reported before the kill, and reads aborted.

Records are queued and committed by a writer thread (group commit), so a kill
can lose records that were queued and not yet committed; the run reports
nothing before the store's sync, so none of those had been reported. These
tests kill a run mid-way and check that what it had reported (after the sync
hook, as the display does; and the display's own FAIL lines) is all stored.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rackval.results.store import ResultsStore
from tests.test_results_plugin import new_run_id, pytest_command, write_suite

# With MINI_REPORT, registers rackval's run display in plain mode writing there (the
# lines a technician would see under `rackval run`).
# A slow writer: unless someone syncs, records stay queued (uncommitted) for 10 s, so
# a report made without the sync would name records the kill then loses.
CONFTEST = """
import os

import rackval.results.writer
from rackval.progress import Progress

rackval.results.writer.WRITE_INTERVAL_S = 10.0


def pytest_configure(config):
    if os.environ.get("MINI_REPORT"):
        stream = open(os.environ["MINI_REPORT"], "w", buffering=1)
        config.pluginmanager.register(Progress(stream, mode="plain"), "mini-display")
"""

WANT = 5  # measurements committed before we pull the plug


def _count(store_dir: Path, run_id: str) -> int:
    if not (store_dir / "results.db").exists():
        return 0
    store = ResultsStore.open(None, store_dir)
    try:
        return len(store.measurements(run_id))
    except Exception:  # the run row may not exist yet
        return 0
    finally:
        store.close()


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], never: str) -> None:
    """SIGKILL the run as soon as ``ready()`` holds; fail with ``never`` if it does not within 90 s."""
    try:
        deadline = time.monotonic() + 90
        while not ready():
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, never
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_midway_keeps_what_was_recorded(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite")
    (suite.parent / "conftest.py").write_text(CONFTEST)
    store_dir = tmp_path / "res"
    seen_log = tmp_path / "seen.txt"
    run_id = new_run_id()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINI_")}
    # each outlet test logs its item after measure() returned and the sync hook ran, then sleeps
    env.update({"MINI_LOG": str(seen_log), "MINI_SLEEP": "0.3"})
    proc = subprocess.Popen(
        pytest_command(suite, f"--results-dir={store_dir}", f"--run-id={run_id}", "-x"),
        cwd=suite.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when(proc, lambda: _count(store_dir, run_id) >= WANT, "no measurements arrived in the store")

    store = ResultsStore.open(None, store_dir)
    report = store.report(run_id)
    stored = [m.item for m in report.measurements]
    # what the killed process had reported (logged after the sync hook) is all there
    seen = seen_log.read_text().split()
    assert len(seen) >= WANT - 1
    assert set(seen) <= set(stored)
    assert len(stored) >= WANT
    assert all(m.name == "outlet_current" and m.value == 2.4 for m in report.measurements)
    # the run did not get to write its end, and reads as aborted (its process is gone)
    assert report.run.stored_outcome is None and report.run.ended_at is None
    assert report.run.outcome == "aborted"
    assert [r.run_id for r in store.list_runs(outcome="aborted")] == [run_id]
    # tests that completed before the kill are recorded with their outcomes
    assert {t.outcome for t in report.tests} <= {"passed"}
    assert len(report.tests) >= len(stored) - 1
    assert len(stored) < 18, "the kill came after the run had finished its outlets"
    store.close()


def test_sigkill_loses_nothing_the_display_reported(tmp_path: Path) -> None:
    """Every FAIL line the run's display printed before the kill is in the store, failed."""
    suite = write_suite(tmp_path / "suite")
    (suite.parent / "conftest.py").write_text(CONFTEST)
    store_dir = tmp_path / "res"
    report_file = tmp_path / "display.txt"
    run_id = new_run_id()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINI_")}
    outlets = [f"pdu-{p}/{n}" for p in "ab" for n in range(1, 25)]
    # every outlet fails, so the display prints a FAIL line for each as it goes
    env.update({"MINI_FAIL": ",".join(outlets), "MINI_FAIL_SLEEP": "0.3", "MINI_REPORT": str(report_file)})
    proc = subprocess.Popen(
        pytest_command(suite, f"--results-dir={store_dir}", f"--run-id={run_id}", "-k", "outlet_current"),
        cwd=suite.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def reported() -> list[str]:
        text = report_file.read_text() if report_file.exists() else ""
        return re.findall(r"^FAIL \[\d+/\d+\] \S+ test_outlet_current\[(\S+?)\]", text, re.M)

    kill_when(proc, lambda: len(reported()) >= 3, "the display reported no failure")
    shown = reported()  # read after the kill: everything the run had printed
    assert len(shown) >= 3
    store = ResultsStore.open(None, store_dir)
    try:
        report = store.report(run_id)
        tests = {t.item_id: t.outcome for t in report.tests}
        measured = {m.item for m in report.measurements}
        for item in shown:
            assert tests.get(item) == "failed", f"{item} was reported FAIL but is not stored as failed"
            assert item in measured, f"{item}'s measurement was reported but is not stored"
        assert len(tests) < len(outlets), "the kill came after the run had finished its outlets"
        assert report.run.outcome == "aborted"
    finally:
        store.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_is_recorded_as_aborted(tmp_path: Path, sig: signal.Signals) -> None:
    suite = write_suite(tmp_path / "suite")
    store_dir = tmp_path / "res"
    run_id = new_run_id()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINI_")}
    env.update({"MINI_LOG": str(tmp_path / "seen.txt"), "MINI_SLEEP": "0.3"})
    proc = subprocess.Popen(
        pytest_command(suite, f"--results-dir={store_dir}", f"--run-id={run_id}"),
        cwd=suite.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while _count(store_dir, run_id) < 2:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, out
    store = ResultsStore.open(None, store_dir)
    run = store.get_run(run_id)
    assert (run.outcome, run.stored_outcome) == ("aborted", "aborted")
    assert run.ended_at is not None
    store.close()
