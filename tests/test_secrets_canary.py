"""Canary: secrets never reach any output.

The demo rack is copied with every credential turned into an ``env:``
reference, the environment gets unique canary values, and rackval runs with
every output enabled — terminal (plain and pytest's own), a DEBUG log file,
the results database, the journal, JUnit, OCP TV and HTML reports, the
simulator's log — passing and failing (wrong credentials on a PDU and a
switch, a BMC). No file and no byte of output may contain a canary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def canary_rack(tmp_path):
    fixtures = tmp_path / "fixtures"
    shutil.copytree(ROOT / "fixtures", fixtures, ignore=shutil.ignore_patterns("secrets"))
    rack = fixtures / "racks" / "demo.yaml"
    text = rack.read_text()
    refs = {
        "file:../secrets/demo.yaml#pdu_auth_key": "env:CANARY_PDU_AUTH",
        "file:../secrets/demo.yaml#pdu_priv_key": "env:CANARY_PDU_PRIV",
        "file:../secrets/demo.yaml#switch_password": "env:CANARY_SWITCH_PASSWORD",
        "file:../secrets/demo.yaml#bmc_password": "env:CANARY_BMC_PASSWORD",
    }
    for old, new in refs.items():
        assert old in text
        text = text.replace(old, new)
    rack.write_text(text)
    secrets = {
        name: f"canary-{name.lower()}-{uuid.uuid4().hex}"
        for name in ("CANARY_PDU_AUTH", "CANARY_PDU_PRIV", "CANARY_SWITCH_PASSWORD", "CANARY_BMC_PASSWORD")
    }
    return rack, secrets


def rackval(args: list[str], env: dict[str, str], cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "rackval", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )
    assert proc.returncode in (0, 1, 3), (
        f"rackval {args[0]} crashed ({proc.returncode}):\n{proc.stderr[-2000:]}"
    )
    return proc.stdout + proc.stderr


def test_no_secret_in_any_output(tmp_path, canary_rack):
    rack, secrets = canary_rack
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, **secrets, "TMPDIR": str(scratch)}
    results = tmp_path / "results"
    common = ["--results-dir", str(results), "--report", "html", "--report", "junit", "--report", "ocptv"]
    outputs = []
    outputs.append(rackval(["run", str(rack), "--sim", "--plain", *common], env, tmp_path))
    log = tmp_path / "debug.log"
    wrong = [
        "--scenario",
        str(ROOT / "fixtures" / "scenarios" / "wrong-snmp-credentials.yaml"),
        "--scenario",
        str(ROOT / "fixtures" / "scenarios" / "wrong-ssh-password.yaml"),
        "--scenario",
        str(ROOT / "fixtures" / "scenarios" / "bmc-wrong-credentials.yaml"),
    ]
    outputs.append(
        rackval(
            [
                "run",
                str(rack),
                *wrong,
                "--no-preflight",
                "--pytest-output",
                *common,
                "--",
                "-v",
                "-rA",
                f"--log-file={log}",
                "--log-file-level=DEBUG",
            ],
            env,
            tmp_path,
        )
    )
    outputs.append(rackval(["doctor", str(rack), "--sim", *wrong], env, tmp_path))
    (tmp_path / "terminal.txt").write_text("\n".join(outputs))

    written = [p for p in tmp_path.rglob("*") if p.is_file() and fixtures_not(p, tmp_path)]
    kinds = {p.suffix for p in written}
    assert {".db", ".html", ".xml", ".jsonl", ".log", ".txt"} <= kinds, f"missing outputs: {kinds}"
    assert log.stat().st_size > 0
    assert "RESULT: FAIL" in outputs[1] and "RESULT: PASS" in outputs[0]
    for path in written:
        data = path.read_bytes()
        for name, value in secrets.items():
            assert value.encode() not in data, f"{name} leaked into {path.relative_to(tmp_path)}"


def fixtures_not(path: Path, root: Path) -> bool:
    return not path.is_relative_to(root / "fixtures")
