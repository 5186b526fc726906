"""``--retest RUN`` reruns only what failed or errored in RUN and links the new run to it."""

from __future__ import annotations

from pathlib import Path

from rackval.results.store import ResultsStore, status_outcome
from tests.test_results_plugin import new_run_id, run_suite, write_suite


def test_retest_reruns_only_the_failed_items_and_links_the_runs(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite")
    results = f"--results-dir={tmp_path / 'res'}"
    first, second = new_run_id(), new_run_id()
    res = run_suite(
        suite,
        results,
        f"--run-id={first}",
        env={"MINI_FAIL": "pdu-a/9,leaf-2/Ethernet8,pdu-b/L2", "MINI_ERROR": "1"},
    )
    assert res.returncode == 1, res.stdout + res.stderr

    store = ResultsStore.open(None, tmp_path / "res")
    failed = store.failed_nodeids(first)
    assert failed == {
        "test_mini.py::test_outlet_current[pdu-a/9]",
        "test_mini.py::test_link[leaf-2/Ethernet8]",
        "test_mini.py::test_phase_current[pdu-b]",
        "test_mini.py::test_bench_ready",
    }
    assert status_outcome(store.rack_status("RK-DEMO-0001").values()) == "fail"

    # the rack was repaired: nothing fails any more; a prefix of the run id is enough
    res = run_suite(suite, results, f"--run-id={second}", f"--retest={first[:8]}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "4 passed, 36 deselected" in res.stdout
    assert f"run {second} (RK-DEMO-0001): PASS, retest of {first}" in res.stdout

    retest = store.report(second)
    assert retest.run.retest_of == first
    assert {t.nodeid for t in retest.tests} == failed
    assert {t.outcome for t in retest.tests} == {"passed"}
    assert [r.run_id for r in store.retests_of(first)] == [second]
    # only the retested items were measured again
    assert sorted({m.item for m in retest.measurements}) == [
        "pdu-a/9",
        "pdu-b/L1",
        "pdu-b/L2",
        "pdu-b/L3",
    ]

    # the rack's status is the latest result per test: the first run's passes, the retest's fixes
    status = store.rack_status("RK-DEMO-0001")
    assert len(status) == 40
    assert status["test_mini.py::test_outlet_current[pdu-a/9]"].run_id == second
    assert status["test_mini.py::test_outlet_current[pdu-a/1]"].run_id == first
    assert status["test_mini.py::test_manual_check"].outcome == "skipped"
    assert status_outcome(status.values()) == "pass"
    store.close()


def test_retest_of_a_clean_run_runs_nothing(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite")
    results = f"--results-dir={tmp_path / 'res'}"
    first = new_run_id()
    assert run_suite(suite, results, f"--run-id={first}").returncode == 0
    res = run_suite(suite, results, f"--retest={first}")
    assert "40 deselected" in res.stdout, res.stdout + res.stderr
    store = ResultsStore.open(None, tmp_path / "res")
    retest = store.retests_of(first)
    assert len(retest) == 1 and store.tests(retest[0].run_id) == []
    store.close()
