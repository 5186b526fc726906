"""The pytest plugin: item parametrization, ``measure``, limits, selection, timeouts, errors.

Each test writes a small suite into a temporary folder and runs pytest on it
in a child process with the demo rack (no simulator needed: these tests only
use rack data, not devices).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

from tests.conftest import DEMO_LIMITS_VERSION, DEMO_RACK, ROOT
from tests.suite_runner import read_junit


def run_pytest(tmp_path, source: str, *args: str):
    test_file = tmp_path / "test_example.py"
    test_file.write_text(textwrap.dedent(source))
    junit = tmp_path / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", str(test_file), "-p", "no:cacheprovider", "-q"]
    cmd += [f"--junitxml={junit}", "--results-dir", str(tmp_path / "results"), *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    outcomes = read_junit(junit) if junit.exists() else {}
    return proc, outcomes


def test_outlet_items_are_parametrized_with_readable_ids(tmp_path):
    proc, outcomes = run_pytest(
        tmp_path,
        """
        def test_each_outlet(outlet):
            assert outlet.kind == "outlet" and outlet.device in ("pdu-a", "pdu-b")
        """,
        "--rack",
        str(DEMO_RACK),
    )
    assert proc.returncode == 0, proc.stdout
    assert len(outcomes) == 18
    assert "test_each_outlet[pdu-a/1]" in outcomes and "test_each_outlet[pdu-b/19]" in outcomes


def test_device_option_selects_items(tmp_path):
    proc, outcomes = run_pytest(
        tmp_path, "def test_each_outlet(outlet):\n    pass\n", "--rack", str(DEMO_RACK), "--device", "pdu-b"
    )
    assert proc.returncode == 0, proc.stdout
    assert outcomes and all("[pdu-b/" in name for name in outcomes)


def test_unknown_device_is_a_usage_error(tmp_path):
    proc, _ = run_pytest(
        tmp_path, "def test_x(outlet):\n    pass\n", "--rack", str(DEMO_RACK), "--device", "pdu-z"
    )
    assert proc.returncode == 4
    assert "--device: no device named pdu-z" in proc.stderr


def test_measure_fails_with_item_value_and_limits(tmp_path):
    proc, outcomes = run_pytest(
        tmp_path,
        """
        from rackval.limits import Limit

        def test_reading(outlet, measure):
            value = 9.0 if outlet.id == "pdu-a/2" else 1.5
            measure("demo_metric", value, item=outlet, limit=Limit(low=1, high=2, units="A"))
        """,
        "--rack",
        str(DEMO_RACK),
    )
    assert proc.returncode == 1
    failed = {name: o for name, o in outcomes.items() if o.outcome == "failed"}
    assert list(failed) == ["test_reading[pdu-a/2]"]
    assert (
        "pdu-a outlet 2 (srv-02-psu1): demo_metric = 9 A, expected 1–2 A"
        in failed["test_reading[pdu-a/2]"].message
    )


def test_measure_takes_limits_from_the_limits_file(tmp_path):
    _proc, outcomes = run_pytest(
        tmp_path,
        """
        def test_imbalance(pdu, measure):
            measure("phase_imbalance", 30.0 if pdu.id == "pdu-b" else 5.0, item=pdu)

        def test_unknown_limit(pdu, measure):
            measure("no_such_limit", 1, item=pdu)
        """,
        "--rack",
        str(DEMO_RACK),
    )
    assert outcomes["test_imbalance[pdu-a]"].outcome == "passed"
    assert "pdu-b: phase_imbalance = 30 %, expected ≤ 25 %" in outcomes["test_imbalance[pdu-b]"].message
    message = outcomes["test_unknown_limit[pdu-a]"].message
    assert "no limit named 'no_such_limit'" in message and DEMO_LIMITS_VERSION in message
    assert "Traceback" not in message


def test_measure_records_to_the_test_taking_it_in_fixtures_and_teardown_too(tmp_path):
    """``measure`` has no ``request`` of its own: it records to the test being run, in each phase."""
    proc, _ = run_pytest(
        tmp_path,
        """
        import pytest
        from rackval.limits import Limit

        ANY = Limit(low=0, high=10)

        @pytest.fixture
        def warmed(pdu, measure):
            measure("setup_metric", 1.0, item=pdu, limit=ANY)
            yield
            measure("teardown_metric", 2.0, item=pdu, limit=ANY)

        def test_first(pdu, warmed, measure):
            measure("call_metric", 3.0, item=pdu, limit=ANY)

        def test_second(pdu, measure):
            measure("second_metric", 4.0, item=pdu, limit=ANY)
        """,
        "--rack",
        str(DEMO_RACK),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = ET.parse(tmp_path / "junit.xml").getroot()
    names = {
        case.get("name"): [p.get("name") for p in case.iter("property")] for case in root.iter("testcase")
    }
    first = ["measurement:setup_metric", "measurement:call_metric", "measurement:teardown_metric"]
    assert names["test_first[pdu-a]"] == first and names["test_first[pdu-b]"] == first
    assert names["test_second[pdu-b]"] == ["measurement:second_metric"]


def test_the_rack_fixtures_take_no_request(tmp_path):
    """pytest builds a new ``request`` definition whenever an item uses a fixture taking it (issue #14)."""
    proc, _ = run_pytest(
        tmp_path,
        """
        def test_argnames(request):
            manager = request.session._fixturemanager
            for name in ("rack", "limits", "measure"):
                (definition,) = manager.getfixturedefs(name, request.node)
                assert definition.argnames == (), (name, definition.argnames)
        """,
        "--rack",
        str(DEMO_RACK),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_each_rack_test_has_an_overall_timeout(tmp_path):
    _proc, outcomes = run_pytest(
        tmp_path,
        """
        import time

        def test_slow(pdu):
            if pdu.id == "pdu-a":
                time.sleep(30)
        """,
        "--rack",
        str(DEMO_RACK),
        "--test-timeout",
        "1",
    )
    assert outcomes["test_slow[pdu-a]"].outcome == "failed"
    assert "Timeout" in outcomes["test_slow[pdu-a]"].message
    assert outcomes["test_slow[pdu-b]"].outcome == "passed"  # the run went on


def test_a_rack_fixture_without_rack_option_says_what_is_missing(tmp_path):
    proc, _ = run_pytest(tmp_path, "def test_x(rack):\n    pass\n")
    assert proc.returncode != 0
    assert "pass --rack FILE" in proc.stdout + proc.stderr


def test_invalid_rack_file_is_a_located_usage_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEMO_RACK.read_text().replace("    outlets: 24", "    outlets: -1", 1))
    proc, _ = run_pytest(tmp_path, "def test_x():\n    pass\n", "--rack", str(bad))
    assert proc.returncode == 4
    assert "bad.yaml:16: devices.pdu-a.outlets: must be greater than 0" in proc.stderr
