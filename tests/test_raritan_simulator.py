"""The Raritan PX simulator checked with net-snmp's own tools (numeric OIDs, no MIB files).

Over SNMPv1, v2c and v3 authPriv: sysObjectID, pduModel, an outlet switched with
snmpset of switchingOperation and read back from outletSwitchingState, and a current
reading with its decimal digits. Not through rackval's driver.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from drivers.aio import LoopThread
from tests.raritan_sim_helpers import PDU, raritan_rack, running_raritan
from tests.snmp_sim_helpers import require_tool

PDU2 = ".1.3.6.1.4.1.13742.6"
SYS_OBJECT_ID = ".1.3.6.1.2.1.1.2.0"
PDU_MODEL = f"{PDU2}.3.2.1.1.3.1"
SWITCHING_OPERATION = f"{PDU2}.4.1.2.1.2.1"  # .outletId; off(0) on(1) cycle(2)
SWITCHING_STATE = f"{PDU2}.4.1.2.1.3.1"  # .outletId; on(7) off(8)
OUTLET_VALUE = f"{PDU2}.5.4.3.1.4.1"  # .outletId.sensorType
OUTLET_DIGITS = f"{PDU2}.3.5.4.1.7.1"  # .outletId.sensorType
OUTLET_UNITS = f"{PDU2}.3.5.4.1.6.1"
CYCLE_PERIOD = f"{PDU2}.3.2.2.1.37.1"
RMS_CURRENT = 1
ENV = dict(os.environ, MIBS="", MIBDIRS="/nonexistent")


@pytest.fixture(scope="module")
def loop():
    with LoopThread("test-raritan-sim") as lt:
        yield lt


@pytest.fixture(params=["1", "2c", "3"], ids=["v1", "v2c", "v3"])
def sim(request, loop, tmp_path):
    require_tool("snmpget")
    with running_raritan(loop, tmp_path, rack=raritan_rack(request.param)) as s:
        yield s


def auth_args(sim) -> list[str]:
    settings = sim.target.settings
    if settings.version in ("1", "2c"):
        return [f"-v{settings.version}", "-c", settings.community.reveal()]
    return [
        "-v3", "-l", "authPriv", "-u", settings.user,
        "-a", settings.auth_protocol, "-A", settings.auth_key.reveal(),
        "-x", settings.priv_protocol, "-X", settings.priv_key.reveal(),
    ]  # fmt: skip


def tool(sim, name: str, *args: str, check: bool = True) -> list[str]:
    exe = require_tool(name)
    command = [exe, "-m", "", "-On", "-t", "2", "-r", "1", *auth_args(sim), f"127.0.0.1:{sim.port}", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=60)
    if check:
        assert done.returncode == 0, done.stderr
        assert "Timeout" not in done.stderr, done.stderr
    return (done.stdout + done.stderr).splitlines()


def value_of(line: str) -> str:
    return line.split(" = ", 1)[1]


def test_snmpget_identity(sim):
    lines = tool(sim, "snmpget", SYS_OBJECT_ID, PDU_MODEL, ".1.3.6.1.2.1.1.1.0")
    assert lines[0] == f"{SYS_OBJECT_ID} = OID: .1.3.6.1.4.1.13742.6"
    assert lines[1] == f'{PDU_MODEL} = STRING: "PX3-5496V"'
    assert value_of(lines[2]) == 'STRING: "Raritan PDU, MD:PX3-5496V HW:0x10 FW:4.2.0.5-50274"'


def test_snmpset_switches_an_outlet_and_state_follows(sim):
    outlet = 9  # srv-04-psu2
    assert value_of(tool(sim, "snmpget", f"{SWITCHING_STATE}.{outlet}")[0]) == "INTEGER: 7"  # on(7)
    lines = tool(sim, "snmpset", f"{SWITCHING_OPERATION}.{outlet}", "i", "0")  # off(0)
    assert value_of(lines[0]) == "INTEGER: 0"
    assert sim.state.outlet_on(PDU, outlet) is False
    state, current = tool(
        sim, "snmpget", f"{SWITCHING_STATE}.{outlet}", f"{OUTLET_VALUE}.{outlet}.{RMS_CURRENT}"
    )
    assert value_of(state) == "INTEGER: 8"  # off(8)
    assert value_of(current) == "Gauge32: 0"  # an outlet that is off draws nothing
    tool(sim, "snmpset", f"{SWITCHING_OPERATION}.{outlet}", "i", "1")  # on(1)
    assert value_of(tool(sim, "snmpget", f"{SWITCHING_STATE}.{outlet}")[0]) == "INTEGER: 7"
    assert sim.state.outlet_on(PDU, outlet) is True


def test_cycle_turns_the_outlet_back_on_after_the_power_off_period(sim):
    tool(sim, "snmpset", CYCLE_PERIOD, "u", "1")
    tool(sim, "snmpset", f"{SWITCHING_OPERATION}.5", "i", "2")  # cycle(2)
    started = time.monotonic()
    assert sim.state.outlet_on(PDU, 5) is False
    while not sim.state.outlet_on(PDU, 5) and time.monotonic() - started < 10:
        time.sleep(0.05)
    assert sim.state.outlet_on(PDU, 5) is True
    assert time.monotonic() - started >= 0.5


def test_bad_switching_operation_is_refused(sim):
    lines = tool(sim, "snmpset", f"{SWITCHING_OPERATION}.3", "i", "7", check=False)
    text = "\n".join(lines)
    wanted = "badValue" if sim.target.settings.version == "1" else "wrongValue"
    assert wanted in text, text
    assert sim.state.outlet_on(PDU, 3) is True


def test_current_reading_with_its_decimal_digits(sim):
    outlet = 1
    value, digits, units = tool(
        sim,
        "snmpget",
        f"{OUTLET_VALUE}.{outlet}.{RMS_CURRENT}",
        f"{OUTLET_DIGITS}.{outlet}.{RMS_CURRENT}",
        f"{OUTLET_UNITS}.{outlet}.{RMS_CURRENT}",
    )
    assert value_of(digits) == "Gauge32: 3"  # milliamps
    assert value_of(units) == "INTEGER: 2"  # amp(2)
    raw = int(value_of(value).split()[-1])
    assert raw / 10**3 == pytest.approx(sim.state.outlet_current(PDU, outlet), abs=0.001)
    assert 1.5 <= raw / 1000 <= 3.5  # the power map's range for srv-01-psu2


def test_snmpwalk_of_pdu2_mib_ends_cleanly(sim):
    lines = tool(sim, "snmpwalk", PDU2)
    # net-snmp prints the endOfMibView past the last object ("No more variables left...")
    rows = [line for line in lines if line.startswith(".") and "No more variables" not in line]
    oids = [line.split(" = ")[0] for line in rows]
    assert oids[0] == f"{PDU2}.3.1.0"  # pduCount
    assert f"{PDU2}.3.5.3.1.3.1.1" in oids  # outletName.1.1
    assert oids[-1] == f"{PDU2}.5.4.3.1.6.1.24.14"  # the last row of the last table served
    assert len(oids) == len(set(oids))
    names = [value_of(line) for line in lines if line.startswith(f"{PDU2}.3.5.3.1.3.1.")]
    assert names[0] == 'STRING: "srv-01-psu2"'
    if sim.target.settings.version != "1":
        bulk = tool(sim, "snmpbulkwalk", PDU2)
        bulk_rows = [line for line in bulk if line.startswith(".") and "No more variables" not in line]
        assert [line.split(" = ")[0] for line in bulk_rows] == oids
