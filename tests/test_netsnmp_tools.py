"""net-snmp's own tools against the APC simulator, with numeric OIDs (no MIB files needed).

Standard clients must work against a simulator unchanged: snmpget, snmpwalk,
snmpbulkwalk and snmpset, over v2c and v3 authPriv (SHA/AES).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from drivers.aio import LoopThread
from tests.snmp_sim_helpers import (
    PDU,
    demo_rack,
    require_tool,
    running_pdu,
    v2c_rack,
    with_snmp,
)

RPDU2 = "1.3.6.1.4.1.318.1.1.26"
SWITCHED_STATE = f".{RPDU2}.9.2.3.1.5"
SWITCHED_COMMAND = f".{RPDU2}.9.2.4.1.5"
METERED_STATUS = f".{RPDU2}.9.4.3.1"  # rPDU2OutletMeteredStatusTable: the last table served
LEGACY_COMMAND = ".1.3.6.1.4.1.318.1.1.12.3.3.1.1.4"
ENV = dict(os.environ, MIBS="", MIBDIRS="/nonexistent")


@pytest.fixture(scope="module")
def loop():
    with LoopThread("test-netsnmp") as lt:
        yield lt


@pytest.fixture(params=["v2c", "v3"])
def sim(request, loop, tmp_path):
    require_tool("snmpget")
    rack = v2c_rack() if request.param == "v2c" else demo_rack()
    with running_pdu(loop, tmp_path, rack=rack) as s:
        yield s


def auth_args(sim) -> list[str]:
    settings = sim.target.settings
    if settings.version == "2c":
        return ["-v2c", "-c", settings.community.reveal()]
    return [
        "-v3",
        "-l",
        "authPriv",
        "-u",
        settings.user,
        "-a",
        settings.auth_protocol,
        "-A",
        settings.auth_key.reveal(),
        "-x",
        settings.priv_protocol,
        "-X",
        settings.priv_key.reveal(),
    ]


def tool(sim, name: str, *args: str) -> list[str]:
    """Run a net-snmp tool; returns its output lines (fails on a non-zero exit)."""
    exe = require_tool(name)
    command = [exe, "-m", "", "-On", "-t", "2", "-r", "1", *auth_args(sim), f"127.0.0.1:{sim.port}", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Timeout" not in done.stderr and "Error" not in done.stdout, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_snmpget_reads_identity_and_current(sim):
    lines = tool(sim, "snmpget", ".1.3.6.1.2.1.1.2.0", f".{RPDU2}.2.1.8.1", f".{RPDU2}.9.4.3.1.6.1")
    assert lines[0] == ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.318.1.3.4.6"  # masterSwitchrPDU2
    assert lines[1] == f'.{RPDU2}.2.1.8.1 = STRING: "AP8653"'
    tenths = round(sim.state.outlet_current(PDU, 1) * 10)
    assert lines[2] == f".{RPDU2}.9.4.3.1.6.1 = INTEGER: {tenths}"


def test_snmpwalk_and_snmpbulkwalk_agree(sim):
    walked = tool(sim, "snmpwalk", SWITCHED_STATE)
    bulk = tool(sim, "snmpbulkwalk", "-Cr10", SWITCHED_STATE)
    assert walked == bulk
    assert len(walked) == 24
    assert walked[0] == f"{SWITCHED_STATE}.1 = INTEGER: 2"  # on(2)


def test_snmpbulkwalk_of_the_last_table_ends_cleanly(sim):
    lines = tool(sim, "snmpbulkwalk", "-Cr25", METERED_STATUS)
    data = [line for line in lines if "No more variables" not in line]
    ends = [line for line in lines if "No more variables" in line]
    assert len(data) == 13 * 24  # 13 columns x 24 outlets, no duplicates
    assert len(set(data)) == len(data)
    assert data[-1].startswith(f"{METERED_STATUS}.13.24 = ")
    assert len(ends) <= 1  # what net-snmp's own snmpd produces at the end of its MIB
    assert lines == tool(sim, "snmpwalk", METERED_STATUS)


def test_snmpset_of_the_control_column_switches_the_outlet(sim):
    lines = tool(sim, "snmpset", f"{SWITCHED_COMMAND}.7", "i", "2")  # immediateOff
    assert lines == [f"{SWITCHED_COMMAND}.7 = INTEGER: 2"]
    assert sim.state.outlet_on(PDU, 7) is False
    assert tool(sim, "snmpget", f"{SWITCHED_STATE}.7") == [f"{SWITCHED_STATE}.7 = INTEGER: 1"]
    tool(sim, "snmpset", f"{LEGACY_COMMAND}.7", "i", "1")  # legacy immediateOn
    assert sim.state.outlet_on(PDU, 7) is True


def test_snmpset_of_a_status_column_is_refused(sim):
    exe = require_tool("snmpset")
    command = [
        exe,
        "-m",
        "",
        "-On",
        *auth_args(sim),
        f"127.0.0.1:{sim.port}",
        f"{SWITCHED_STATE}.7",
        "i",
        "1",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode != 0
    assert "notWritable" in done.stdout + done.stderr
    assert sim.state.outlet_on(PDU, 7) is True


def test_wrong_v3_key_is_rejected(loop, tmp_path):
    require_tool("snmpget")
    with running_pdu(loop, tmp_path, faults=[{"kind": "wrong_credentials"}]) as sim:
        exe = require_tool("snmpget")
        command = [
            exe,
            "-m",
            "",
            "-On",
            "-t",
            "1",
            "-r",
            "0",
            *auth_args(sim),
            f"127.0.0.1:{sim.port}",
            ".1.3.6.1.2.1.1.1.0",
        ]
        done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode != 0
    assert "Authentication failure" in done.stderr


@pytest.mark.parametrize(("auth", "priv"), [("SHA256", "AES256"), ("SHA512", "AES192"), ("MD5", "DES")])
def test_other_v3_protocols_interoperate(loop, tmp_path, auth, priv):
    """Our AES192/AES256 are net-snmp's (Blumenthal key extension), not the Cisco variant."""
    require_tool("snmpget")
    rack = with_snmp(demo_rack(), auth_protocol=auth, priv_protocol=priv)
    with running_pdu(loop, tmp_path, rack=rack) as sim:
        assert tool(sim, "snmpget", ".1.3.6.1.2.1.1.5.0") == [f'.1.3.6.1.2.1.1.5.0 = STRING: "{PDU}"']
        assert sim.driver.identity().name == PDU
