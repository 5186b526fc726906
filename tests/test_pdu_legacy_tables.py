"""The APC simulator's legacy sPDU (masterswitch) tables and SNMPv1, through net-snmp's tools.

Real AP8xxx units report sysObjectID masterSwitchrPDU2 (.1.3.6.1.4.1.318.1.3.4.6) and
still serve PowerNet-MIB's oldest group, sPDU under .1.3.6.1.4.1.318.1.1.4, to SNMPv1
clients (fence_apc_snmp, for one, defaults to v1 and reads outlet state from
sPDUOutletCtl). Numeric OIDs only: no MIB files needed.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from drivers.aio import LoopThread
from tests.snmp_sim_helpers import PDU, require_tool, running_pdu, v2c_rack

SPDU = ".1.3.6.1.4.1.318.1.1.4"
SPDU_CTL = f"{SPDU}.4.2.1.3"  # sPDUOutletCtl: outletOn(1) / outletOff(2) ...
SPDU_PENDING = f"{SPDU}.4.2.1.2"  # sPDUOutletPending: commandPending(1) / noCommandPending(2)
SPDU_CTL_NAME = f"{SPDU}.4.2.1.4"
SPDU_OUTLET_NAME = f"{SPDU}.5.2.1.3"  # sPDUOutletName (read-write)
SPDU_REBOOT_DURATION = f"{SPDU}.5.2.1.5"
MASTER_SWITCH = f"{SPDU}.2.1.0"  # sPDUMasterControlSwitch
MASTER_STATE = f"{SPDU}.2.2.0"
RPDU2_STATE = ".1.3.6.1.4.1.318.1.1.26.9.2.3.1.5"  # rPDU2OutletSwitchedStatusState off(1)/on(2)
RPDU2_NAME = ".1.3.6.1.4.1.318.1.1.26.9.2.1.1.3"
LAST_COLUMN = ".1.3.6.1.4.1.318.1.1.26.9.4.3.1.13"
ENV = dict(os.environ, MIBS="", MIBDIRS="/nonexistent")


@pytest.fixture(scope="module")
def loop():
    with LoopThread("test-spdu") as lt:
        yield lt


@pytest.fixture
def sim(loop, tmp_path):
    require_tool("snmpget")
    with running_pdu(loop, tmp_path, rack=v2c_rack()) as s:
        yield s


def run(sim, name: str, *args: str, version: str = "1") -> subprocess.CompletedProcess:
    exe = require_tool(name)
    community = sim.target.settings.community.reveal()
    command = [exe, "-m", "", "-On", "-t", "2", "-r", "1", f"-v{version}", "-c", community]
    command += [f"127.0.0.1:{sim.port}", *args]
    return subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=60)


def ok(sim, name: str, *args: str, version: str = "1") -> list[str]:
    done = run(sim, name, *args, version=version)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Error" not in done.stdout and "Timeout" not in done.stderr, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_sys_object_id_is_master_switch_rpdu2_over_v1_and_v2c(sim):
    for version in ("1", "2c"):
        lines = ok(sim, "snmpget", ".1.3.6.1.2.1.1.2.0", version=version)
        assert lines == [".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.318.1.3.4.6"]


def test_v1_snmpset_of_spdu_outlet_ctl_switches_the_outlet(sim):
    assert ok(sim, "snmpget", f"{SPDU_CTL}.5", f"{RPDU2_STATE}.5") == [
        f"{SPDU_CTL}.5 = INTEGER: 1",  # outletOn(1)
        f"{RPDU2_STATE}.5 = INTEGER: 2",  # on(2)
    ]
    assert ok(sim, "snmpset", f"{SPDU_CTL}.5", "i", "2") == [f"{SPDU_CTL}.5 = INTEGER: 2"]  # outletOff
    assert sim.state.outlet_on(PDU, 5) is False
    assert sim.state.outlet_current(PDU, 5) == 0.0
    assert ok(sim, "snmpget", f"{SPDU_CTL}.5", f"{RPDU2_STATE}.5") == [
        f"{SPDU_CTL}.5 = INTEGER: 2",  # outletOff(2)
        f"{RPDU2_STATE}.5 = INTEGER: 1",  # off(1), seen by the rPDU2 table too
    ]
    state = ok(sim, "snmpget", MASTER_STATE)[0]
    assert state.startswith(f'{MASTER_STATE} = STRING: "On  On  On  On  Off On  ')
    ok(sim, "snmpset", f"{SPDU_CTL}.5", "i", "1")  # outletOn
    assert sim.state.outlet_on(PDU, 5) is True


def test_v1_errors_are_v1_error_statuses(sim):
    refused = run(sim, "snmpset", f"{SPDU_CTL}.5", "i", "4")  # outletUnknown may not be written
    assert refused.returncode != 0 and "badValue" in refused.stdout + refused.stderr
    read_only = run(sim, "snmpset", f"{SPDU_PENDING}.5", "i", "1")
    assert read_only.returncode != 0 and "noSuchName" in read_only.stdout + read_only.stderr
    missing = run(sim, "snmpget", f"{SPDU_CTL}.99")
    assert missing.returncode != 0 and "noSuchName" in missing.stdout + missing.stderr
    assert sim.state.outlet_on(PDU, 5) is True


def test_spdu_reboot_with_the_configured_duration(sim):
    ok(sim, "snmpset", f"{SPDU_REBOOT_DURATION}.8", "i", "1")
    ok(sim, "snmpset", f"{SPDU_CTL}.8", "i", "3")  # outletReboot
    started = time.monotonic()
    assert sim.state.outlet_on(PDU, 8) is False
    assert ok(sim, "snmpget", f"{SPDU_PENDING}.8") == [f"{SPDU_PENDING}.8 = INTEGER: 1"]
    while not sim.state.outlet_on(PDU, 8) and time.monotonic() - started < 10:
        time.sleep(0.05)
    assert sim.state.outlet_on(PDU, 8) is True
    assert ok(sim, "snmpget", f"{SPDU_PENDING}.8") == [f"{SPDU_PENDING}.8 = INTEGER: 2"]


def test_master_switch_turns_every_outlet_off_and_on(sim):
    assert ok(sim, "snmpget", MASTER_SWITCH) == [f"{MASTER_SWITCH} = INTEGER: 6"]  # noCommand(6)
    ok(sim, "snmpset", MASTER_SWITCH, "i", "3")  # turnAllOffNow
    assert not any(sim.state.outlet_on(PDU, i) for i in range(1, 25))
    assert ok(sim, "snmpget", MASTER_STATE) == [f'{MASTER_STATE} = STRING: "{"Off " * 24}"']
    ok(sim, "snmpset", MASTER_SWITCH, "i", "1")  # turnAllOnNow
    assert all(sim.state.outlet_on(PDU, i) for i in range(1, 25))


def test_outlet_names_are_one_setting_across_tables(sim):
    ok(sim, "snmpset", f"{SPDU_OUTLET_NAME}.2", "s", "bench-psu")
    lines = ok(sim, "snmpget", f"{SPDU_CTL_NAME}.2", f"{RPDU2_NAME}.2")
    assert lines == [f'{SPDU_CTL_NAME}.2 = STRING: "bench-psu"', f'{RPDU2_NAME}.2 = STRING: "bench-psu"']


def test_v1_walk_of_the_spdu_group_and_of_the_last_table(sim):
    walked = ok(sim, "snmpwalk", SPDU)
    names = [line for line in walked if line.startswith(f"{SPDU_CTL_NAME}.")]
    assert len(names) == 24
    assert walked[0] == f'{SPDU}.1.1.0 = STRING: "02"'  # sPDUIdentHardwareRev
    assert f'{SPDU}.1.4.0 = STRING: "AP8653"' in walked  # sPDUIdentModelNumber
    assert f"{SPDU}.4.1.0 = INTEGER: 24" in walked  # sPDUOutletControlTableSize
    # SNMPv1 has no endOfMibView: past the last object the agent answers noSuchName,
    # which snmpwalk reports as "End of MIB" (exit status 0)
    last = ok(sim, "snmpwalk", LAST_COLUMN)
    assert last[-1] == "End of MIB"
    assert len(last) == 25 and last[-2].startswith(f"{LAST_COLUMN}.24 = ")


def test_v2c_getbulk_serves_the_spdu_control_table(sim):
    """GETBULK does not exist in SNMPv1; over v2c the same community reads the table in one."""
    bulk = ok(sim, "snmpbulkget", "-Cn0", "-Cr3", SPDU_CTL, version="2c")
    assert bulk == [f"{SPDU_CTL}.{i} = INTEGER: 1" for i in (1, 2, 3)]


def test_legacy_rpdu_ident_and_load_device_scalars(sim):
    rpdu = ".1.3.6.1.4.1.318.1.1.12"
    lines = ok(sim, "snmpget", f"{rpdu}.1.8.0", f"{rpdu}.1.15.0", f"{rpdu}.1.17.0", f"{rpdu}.2.1.2.0")
    assert lines == [
        f"{rpdu}.1.8.0 = INTEGER: 24",  # rPDUIdentDeviceNumOutlets
        f"{rpdu}.1.15.0 = INTEGER: 400",  # rPDUIdentDeviceLinetoLineVoltage (3-phase 230/400 V)
        f"{rpdu}.1.17.0 = INTEGER: 950",  # rPDUIdentDevicePowerFactor, thousandths
        f"{rpdu}.2.1.2.0 = INTEGER: 3",  # rPDULoadDevNumPhases
    ]
    watts = int(ok(sim, "snmpget", f"{rpdu}.1.16.0")[0].rsplit(" ", 1)[1])  # rPDUIdentDevicePowerWatts
    ok(sim, "snmpset", MASTER_SWITCH, "i", "3")  # turnAllOffNow
    assert watts > 0
    assert ok(sim, "snmpget", f"{rpdu}.1.16.0") == [f"{rpdu}.1.16.0 = INTEGER: 0"]
