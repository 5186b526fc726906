"""``rackval doctor``: every device checked concurrently; problems name the device and what is wrong."""

from __future__ import annotations

from rackval import kinds
from rackval.cli import EXIT_PASSED, EXIT_UNREACHABLE, EXIT_USAGE
from rackval.model import load_rack
from rackval.preflight import check_rack
from rackval.simprocess import start_sim_process
from tests.test_cli_run import RACK, SCENARIOS, run_pipe


def test_doctor_nominal_rack_is_ready():
    run = run_pipe("doctor", str(RACK), "--sim")
    assert run.returncode == EXIT_PASSED, run.stdout + run.stderr
    assert "pdu-a: pdu at 127.0.0.1:" in run.stdout
    assert "reachable=ok credentials=ok identity=ok" in run.stdout
    assert "rack ready" in run.stdout


def test_doctor_names_the_device_with_bad_credentials():
    run = run_pipe("doctor", str(RACK), "--sim", str(SCENARIOS / "wrong-snmp-credentials.yaml"))
    assert run.returncode == EXIT_UNREACHABLE, run.stdout + run.stderr
    lines = {line.split(":", 1)[0]: line for line in run.stdout.splitlines() if ": pdu at " in line}
    assert "credentials=FAIL" in lines["pdu-a"]
    assert "credentials rejected" in lines["pdu-a"]
    assert "identity=ok" in lines["pdu-b"], "the other PDU is still checked"
    assert "rack NOT READY (1 device(s))" in run.stdout
    assert "demo-auth-key" not in run.stdout + run.stderr, "no secret in the output"


def test_doctor_unknown_device_is_a_usage_error():
    run = run_pipe("doctor", str(RACK), "--device", "pdu-z")
    assert run.returncode == EXIT_USAGE
    assert "no device named pdu-z" in run.stderr


def test_identity_and_reachability_problems_are_typed():
    rack = load_rack(RACK)
    sim = start_sim_process(
        rack.source, [SCENARIOS / "pdu-firmware-mismatch.yaml", SCENARIOS / "pdu-no-answer.yaml"]
    )
    try:
        readiness = check_rack(rack, sim.overlay)
    finally:
        sim.stop()
    by_name = {c.device: c for c in readiness.checks}
    a, b = by_name["pdu-a"], by_name["pdu-b"]
    assert (a.reachable, a.credentials, a.identity) == (True, True, False)
    assert "firmware is 'v6.8.2', the rack file expects 'v6.9.6'" in a.problem
    assert a.reported["serial"] == "5A2315E00101"
    assert (b.reachable, b.credentials, b.identity) == (False, None, None)
    assert "no answer from 127.0.0.1:" in b.problem
    assert not readiness.ready
    assert [p.split(":")[0] for p in readiness.problems] == ["pdu-a", "pdu-b"]


def test_every_device_kind_has_an_identity_check():
    installed = kinds.all_kinds()
    assert set(installed) >= {"pdu", "switch", "instrument"}
    assert all(callable(kind.identity) and callable(kind.expected) for kind in installed.values())
