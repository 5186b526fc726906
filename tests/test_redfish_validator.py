"""DMTF's Redfish-Service-Validator against the BMC, power-shelf and CDU simulators: 0 failures.

No DMTF schema bundle (DSP8010) can be downloaded here, so the validator finds
the schemas the way it does for a service's own ones: ``$metadata`` references
``/redfish/v1/Schemas/<Name>_v1.xml`` and the validator fetches every reference
starting with "/" from the service itself (``schema_pack.update_service_metadata``).
It therefore checks the payloads against the simulator's own CSDL (written from
DSP8010's names and types), not against DMTF's published bundle; see
docs/simulators-redfish.md. Its attempt to reach dmtf.org is sent to a closed
local port as its "external proxy", so no traffic leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require
from tests.redfish_sim_helpers import PASSWORD, USER, clean_ca_env, running  # noqa: F401

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SUMMARY = re.compile(r"\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|")


def _validator() -> str:
    local = Path(sys.executable).with_name("rf_service_validator")
    path = str(local) if local.exists() else shutil.which("rf_service_validator")
    require(path is not None, "DMTF's Redfish-Service-Validator (rf_service_validator)")
    return path  # type: ignore[return-value]


def summary(output: str) -> dict[str, int]:
    """PASS/WARN/FAIL/NOT TESTED from the validator's closing table."""
    text = ANSI.sub("", output)
    rows = SUMMARY.findall(text)
    assert rows, f"no summary table in the validator's output:\n{text[-4000:]}"
    passed, warned, failed, skipped = map(int, rows[-1])
    return {"PASS": passed, "WARN": warned, "FAIL": failed, "NOT TESTED": skipped}


@pytest.fixture
def dead_port():
    """A port on 127.0.0.1 bound but not listening: a connection to it is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "device, authtype",
    [("tray-01", "Session"), ("tray-01", "Basic"), ("shelf-1-pmc", "Session"), ("cdu-1", "Session")],
)
def test_service_validator_reports_no_failures(device, authtype, tmp_path, dead_port):
    validator = _validator()
    with running(device) as sim:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        proxy = f"http://127.0.0.1:{dead_port}"
        cmd = [
            validator,
            "--rhost", sim.base_url,
            "--user", USER,
            "--password", PASSWORD,
            "--authtype", authtype,
            "--logdir", str(tmp_path / "logs"),
            "--schema_directory", str(tmp_path / "schemas"),
            "--ext_http_proxy", proxy,
            "--ext_https_proxy", proxy,
            "--timeout", "30",
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
        output = result.stdout + result.stderr
        counts = summary(output)
        report = f"validator: {counts}\n{ANSI.sub('', output)[-6000:]}"
        assert counts["FAIL"] == 0, report
        assert counts["WARN"] == 0, report
        assert counts["PASS"] > 300, report
        assert result.returncode == 0, report
        # the schemas came from the service itself
        assert "Downloading /redfish/v1/Schemas/ComputerSystem_v1.xml" in output, report
        assert (tmp_path / "schemas" / "Resource_v1.xml").exists()
        assert sim.handle.stats()["requests"] > 50
