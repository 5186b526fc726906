"""The results plugin, run as rackval runs: pytest in a subprocess over a small suite of our own.

The suite needs no devices (only ``measure`` and item parametrization over the
demo rack file), so these tests exercise recording, not drivers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from rackval.results.store import ResultsStore
from tests.conftest import DEMO_LIMITS_VERSION

REPO = Path(__file__).resolve().parents[1]
DEMO_RACK = REPO / "fixtures" / "racks" / "demo.yaml"

# Which items fail is chosen by environment variables, so one suite serves a
# failing run, its retest and a passing run.
MINI_SUITE = """
import os
import time

import pytest

from rackval.limits import Limit

FAIL = set(filter(None, os.environ.get("MINI_FAIL", "").split(",")))
CURRENT = Limit(low=1.5, high=3.5, units="A")


@pytest.fixture
def bench():
    if os.environ.get("MINI_ERROR"):
        raise RuntimeError("bench instrument not ready")
    return "bench"


def test_outlet_current(outlet, measure, pytestconfig):
    try:
        measure("outlet_current", 0.0 if outlet.id in FAIL else 2.4, item=outlet, limit=CURRENT)
    finally:
        time.sleep(float(os.environ.get("MINI_FAIL_SLEEP", "0")))
    log = os.environ.get("MINI_LOG")
    if log:  # what the test reported, for the SIGKILL test: like the display, only after the sync hook
        pytestconfig.hook.pytest_rackval_sync()
        with open(log, "a") as fh:
            fh.write(outlet.id + "\\n")
            fh.flush()
            os.fsync(fh.fileno())
        time.sleep(float(os.environ.get("MINI_SLEEP", "0")))


def test_phase_current(pdu, measure):
    for n, phase in enumerate(("L1", "L2", "L3")):
        amps = 14.0 if f"{pdu.id}/{phase}" in FAIL else 6.0 + n
        measure("phase_current", amps, item=f"{pdu.id}/{phase}", limit=Limit(high=12.8, units="A"))


def test_link(link):
    if link.id in FAIL:
        raise AssertionError(f"{link.label}: missing (no LLDP neighbour)")
    if link.id == "leaf-1/Ethernet3" and "swap" in FAIL:
        raise AssertionError(f"{link.label}: swapped with leaf-1/Ethernet4")


def test_bench_ready(bench):
    assert bench == "bench"


def test_manual_check():
    pytest.skip("needs a technician at the rack")
"""


def write_suite(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text("[pytest]\n")
    suite = directory / "test_mini.py"
    suite.write_text(MINI_SUITE)
    return suite


def pytest_command(suite: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        str(suite),
        "-q",
        "-p",
        "no:cacheprovider",
        f"--rootdir={suite.parent}",
        f"--rack={DEMO_RACK}",
        *args,
    ]


def run_suite(
    suite: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MINI_")}
    full_env.update(env or {})
    return subprocess.run(
        pytest_command(suite, *args),
        cwd=suite.parent,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    return write_suite(tmp_path / "suite")


def test_a_run_records_every_test_and_measurement(suite: Path, tmp_path: Path) -> None:
    run_id = new_run_id()
    res = run_suite(
        suite,
        f"--results-dir={tmp_path / 'res'}",
        f"--run-id={run_id}",
        "--station-id=st-7",
        "--operator=op-42",
        env={"MINI_FAIL": "pdu-a/9,leaf-2/Ethernet8", "MINI_ERROR": "1"},
    )
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"run {run_id} (RK-DEMO-0001): FAIL" in res.stdout

    store = ResultsStore.open(None, tmp_path / "res")
    report = store.report(run_id)
    run = report.run
    assert (run.outcome, run.station_id, run.operator_id) == ("fail", "st-7", "op-42")
    assert (run.rack_serial, run.limits_version) == ("RK-DEMO-0001", DEMO_LIMITS_VERSION)
    assert run.suites == ["test_mini.py"] and run.ended_at is not None
    tests = {t.nodeid: t for t in report.tests}
    assert len(tests) == 18 + 2 + 18 + 1 + 1  # outlets, pdus, links, bench, manual

    failed = tests["test_mini.py::test_outlet_current[pdu-a/9]"]
    assert (failed.outcome, failed.item_kind, failed.item_id, failed.device) == (
        "failed",
        "outlet",
        "pdu-a/9",
        "pdu-a",
    )
    assert "pdu-a outlet 9 (srv-04-psu1): outlet_current = 0 A, expected 1.5–3.5 A" in failed.message
    link = tests["test_mini.py::test_link[leaf-2/Ethernet8]"]
    assert (link.outcome, link.item_kind, link.device) == ("failed", "link", "leaf-2")
    assert "missing (no LLDP neighbour)" in link.message
    error = tests["test_mini.py::test_bench_ready"]
    assert error.outcome == "error" and "bench instrument not ready" in error.message
    skipped = tests["test_mini.py::test_manual_check"]
    assert skipped.outcome == "skipped" and "needs a technician" in skipped.message
    ok = tests["test_mini.py::test_outlet_current[pdu-b/9]"]
    assert ok.outcome == "passed" and ok.message is None and ok.duration_s >= 0
    assert ok.started_at <= ok.finished_at

    assert len(report.measurements) == 18 + 2 * 3
    bad = [m for m in report.measurements if m.outcome == "fail"]
    assert [(m.name, m.item, m.value, m.units) for m in bad] == [("outlet_current", "pdu-a/9", 0.0, "A")]
    assert bad[0].nodeid == "test_mini.py::test_outlet_current[pdu-a/9]"
    store.close()


def test_a_clean_run_passes_and_runs_accumulate(suite: Path, tmp_path: Path) -> None:
    ids = [new_run_id(), new_run_id()]
    for run_id in ids:
        res = run_suite(suite, f"--results-dir={tmp_path / 'res'}", f"--run-id={run_id}")
        assert res.returncode == 0, res.stdout + res.stderr
    store = ResultsStore.open(None, tmp_path / "res")
    assert [r.run_id for r in store.history("RK-DEMO-0001")] == ids[::-1]
    assert {r.outcome for r in store.list_runs()} == {"pass"}
    store.close()


def test_results_go_to_postgresql_when_given_a_url(suite: Path) -> None:
    from tests.test_results_store import pg_schema

    with pg_schema() as url:
        run_id = new_run_id()
        res = run_suite(suite, f"--results-db={url}", f"--run-id={run_id}", env={"MINI_FAIL": "pdu-b/1"})
        assert res.returncode == 1, res.stdout + res.stderr
        store = ResultsStore.open(url)
        report = store.report(run_id)
        assert report.run.outcome == "fail"
        assert [t.item_id for t in report.failures] == ["pdu-b/1"]
        assert not (suite.parent / "results").exists()  # nothing went to SQLite
        store.close()


def test_results_options_need_a_rack(suite: Path) -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(suite),
            "-q",
            "-p",
            "no:cacheprovider",
            f"--rootdir={suite.parent}",
            "--junit=x.xml",
        ],
        cwd=suite.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 4
    assert "--junit: needs a rack run (--rack FILE)" in res.stderr


def test_retest_of_an_unknown_run_is_a_usage_error(suite: Path, tmp_path: Path) -> None:
    res = run_suite(suite, f"--results-dir={tmp_path / 'res'}", "--retest=feedface")
    assert res.returncode == 4
    assert "no run 'feedface' in results store sqlite:///" in res.stderr


def test_a_bad_results_db_url_is_a_usage_error_without_secrets(suite: Path) -> None:
    res = run_suite(suite, "--results-db=postgresql+psycopg://tech:hunter2@127.0.0.1:1/x")
    assert res.returncode == 4
    assert "127.0.0.1:1" in res.stderr
    assert "hunter2" not in res.stderr + res.stdout
