"""A run killed with SIGKILL keeps every measurement committed before the kill and reads aborted."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rackval.results.store import ResultsStore
from tests.test_results_plugin import new_run_id, pytest_command, write_suite

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


def test_sigkill_midway_keeps_what_was_recorded(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite")
    store_dir = tmp_path / "res"
    seen_log = tmp_path / "seen.txt"
    run_id = new_run_id()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINI_")}
    # each outlet test logs its item after measure() returned, then sleeps
    env.update({"MINI_LOG": str(seen_log), "MINI_SLEEP": "0.3"})
    proc = subprocess.Popen(
        pytest_command(suite, f"--results-dir={store_dir}", f"--run-id={run_id}", "-x"),
        cwd=suite.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while _count(store_dir, run_id) < WANT:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no measurements arrived in the store"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = ResultsStore.open(None, store_dir)
    report = store.report(run_id)
    stored = [m.item for m in report.measurements]
    # what the killed process had measured (and seen recorded) is all there
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
