"""``rackval list``: what a run would execute, collected without touching the rack."""

from __future__ import annotations

import json

from rackval.cli import EXIT_PASSED, EXIT_USAGE
from tests.test_cli_run import LIMITS, RACK, run_pipe


def listing(*args: str):
    return run_pipe("list", str(RACK), "--limits", str(LIMITS), *args, timeout=120)


def test_list_shows_suites_tests_and_items():
    run = listing("--suite", "power", "--suite", "example_inlet")
    assert run.returncode == EXIT_PASSED, run.stdout + run.stderr
    out = run.stdout
    assert "suite power: 82 tests" in out
    assert "suite example_inlet: 2 tests" in out
    assert "  test_inlet_power (2): pdu-a pdu-b" in out
    assert "  test_outlet_switching [destructive] (18): pdu-a/1 pdu-a/2 pdu-a/3" in out
    assert "84 tests in total" in out


def test_list_honours_device_and_k(tmp_path):
    run = listing("--suite", "power", "--device", "pdu-b", "-k", "current", "--json")
    assert run.returncode == EXIT_PASSED, run.stderr
    tests = json.loads(run.stdout)
    assert {t["function"] for t in tests} == {"test_outlet_current"}
    assert all(t["devices"] == ["pdu-b"] for t in tests)
    assert len(tests) == 9


def test_list_never_contacts_the_rack():
    # the rack file's devices are on 192.0.2.0/24 (TEST-NET-1, never routed) and no
    # --sim is given: listing must not need them, nor their credentials
    run = run_pipe(
        "list",
        str(RACK),
        "--limits",
        str(LIMITS),
        "--suite",
        "power",
        timeout=120,
        RACKVAL_NON_INTERACTIVE="1",
    )
    assert run.returncode == EXIT_PASSED
    assert "unreachable" not in run.stdout + run.stderr


def test_list_selection_matching_nothing_is_a_usage_error():
    run = listing("--suite", "power", "-k", "no_such_test")
    assert run.returncode == EXIT_USAGE
