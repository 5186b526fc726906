"""The APC rPDU2 simulator, checked at the MIB level (not through the APC driver)."""

from __future__ import annotations

import time

import pytest
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    bulk_cmd,
)
from pysnmp.proto import rfc1905
from pysnmp.proto.rfc1902 import Integer32, OctetString

from drivers.aio import LoopThread
from drivers.errors import DeviceReportedError
from drivers.snmp import SnmpClient, decode_int, decode_str
from rackval.errors import ConfigError
from tests.snmp_sim_helpers import PDU, running_pdu, v2c_rack

RPDU2 = "1.3.6.1.4.1.318.1.1.26"
RPDU = "1.3.6.1.4.1.318.1.1.12"
SWITCHED_STATE = f"{RPDU2}.9.2.3.1.5"  # off(1) / on(2)
SWITCHED_COMMAND = f"{RPDU2}.9.2.4.1.5"
REBOOT_DURATION = f"{RPDU2}.9.2.1.1.7"
METERED_CURRENT = f"{RPDU2}.9.4.3.1.6"
PHASE_CURRENT = f"{RPDU2}.6.3.1.5"
LEGACY_COMMAND = f"{RPDU}.3.3.1.1.4"  # immediateOn(1) / immediateOff(2)
LEGACY_STATE = f"{RPDU}.3.5.1.1.4"  # outletStatusOn(1) / outletStatusOff(2)
LEGACY_LOAD = f"{RPDU}.2.3.1.1.2"  # tenths of amps per phase
LAST_OID = f"{RPDU2}.9.4.3.1.13.24"


@pytest.fixture(scope="module")
def loop():
    with LoopThread("test-apc-sim") as lt:
        yield lt


@pytest.fixture
def sim(loop, tmp_path):
    with running_pdu(loop, tmp_path, rack=v2c_rack()) as s:
        yield s


@pytest.fixture
def client(sim, loop):
    c = SnmpClient(sim.target)
    yield c

    async def close():
        c.close()

    loop.run(close())


def get(loop, client, *oids):
    return loop.run(client.get(*oids))


def test_system_group_looks_like_an_apc_nmc(loop, client):
    values = get(loop, client, "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0")
    descr = decode_str(values["1.3.6.1.2.1.1.1.0"], PDU, "sysDescr")
    assert descr.startswith("APC Web/SNMP Management Card (MB:v4")
    assert "PF:v6.9.6" in descr and "MN:AP8653" in descr and "SN: 5A2315E00101" in descr
    assert str(values["1.3.6.1.2.1.1.2.0"]) == "1.3.6.1.4.1.318.1.3.4.6"  # masterSwitchrPDU2
    assert decode_str(values["1.3.6.1.2.1.1.5.0"], PDU, "sysName") == PDU


def test_rpdu2_and_legacy_tables_agree_with_rack_state(sim, loop, client):
    table = loop.run(client.walk_columns(SWITCHED_STATE, METERED_CURRENT, LEGACY_STATE))
    assert len(table[SWITCHED_STATE]) == 24
    for index in range(1, 25):
        key = str(index)
        assert int(table[SWITCHED_STATE][key]) == 2  # on(2)
        assert int(table[LEGACY_STATE][key]) == 1  # outletStatusOn(1)
        tenths = decode_int(table[METERED_CURRENT][key], PDU, METERED_CURRENT)
        assert tenths == round(sim.state.outlet_current(PDU, index) * 10)
    loads = loop.run(client.walk_columns(LEGACY_LOAD, PHASE_CURRENT))
    for phase in (1, 2, 3):
        amps_tenths = round(sim.state.phase_current(PDU, f"L{phase}") * 10)
        assert int(loads[LEGACY_LOAD][str(phase)]) == amps_tenths
        assert int(loads[PHASE_CURRENT][str(phase)]) == amps_tenths


def test_legacy_control_table_switches_the_outlet(sim, loop, client):
    loop.run(client.set(f"{LEGACY_COMMAND}.4", Integer32(2)))  # immediateOff
    assert sim.state.outlet_on(PDU, 4) is False
    values = get(
        loop,
        client,
        f"{SWITCHED_STATE}.4",
        f"{LEGACY_STATE}.4",
        f"{METERED_CURRENT}.4",
        f"{SWITCHED_COMMAND}.4",
    )
    assert int(values[f"{SWITCHED_STATE}.4"]) == 1  # off(1)
    assert int(values[f"{LEGACY_STATE}.4"]) == 2  # outletStatusOff(2)
    assert int(values[f"{METERED_CURRENT}.4"]) == 0
    assert int(values[f"{SWITCHED_COMMAND}.4"]) == 2  # reads back immediateOff(2)
    loop.run(client.set(f"{LEGACY_COMMAND}.4", Integer32(1)))  # immediateOn
    assert sim.state.outlet_on(PDU, 4) is True


def test_reboot_uses_the_configured_duration(sim, loop, client):
    loop.run(client.set(f"{REBOOT_DURATION}.6", Integer32(2)))
    assert int(get(loop, client, f"{REBOOT_DURATION}.6")[f"{REBOOT_DURATION}.6"]) == 2
    loop.run(client.set(f"{SWITCHED_COMMAND}.6", Integer32(3)))  # immediateReboot
    started = time.monotonic()
    assert sim.state.outlet_on(PDU, 6) is False
    pending = get(loop, client, f"{RPDU2}.9.2.3.1.6.6")[f"{RPDU2}.9.2.3.1.6.6"]
    assert int(pending) == 1  # commandPending(1)
    while not sim.state.outlet_on(PDU, 6) and time.monotonic() - started < 10:
        time.sleep(0.05)
    assert sim.state.outlet_on(PDU, 6) is True
    assert time.monotonic() - started >= 1.5  # not back before the duration


@pytest.mark.parametrize(
    ("oid", "value", "status"),
    [
        (f"{SWITCHED_STATE}.1", Integer32(1), "notWritable"),
        (f"{SWITCHED_COMMAND}.1", Integer32(4), "wrongValue"),  # outletUnknown is read-only
        (f"{SWITCHED_COMMAND}.1", OctetString(b"off"), "wrongType"),
        (f"{SWITCHED_COMMAND}.25", Integer32(1), "noCreation"),
        (f"{REBOOT_DURATION}.1", Integer32(-5), "wrongValue"),
        ("1.3.6.1.4.1.99999.1.0", Integer32(1), "notWritable"),
    ],
)
def test_set_errors_map_to_snmp_error_status(sim, loop, client, oid, value, status):
    with pytest.raises(DeviceReportedError) as info:
        loop.run(client.set(oid, value))
    assert status in info.value.detail
    assert sim.state.outlet_on(PDU, 1) is True


def test_getbulk_at_end_of_mib_stops_like_net_snmp(sim, loop):
    """One endOfMibView row, not max-repetitions copies of it."""

    async def bulk(*oids):
        engine = SnmpEngine()
        target = await UdpTransportTarget.create(("127.0.0.1", sim.port), timeout=2, retries=0)
        community = sim.target.settings.community.reveal()
        try:
            return await bulk_cmd(
                engine,
                CommunityData(community),
                target,
                ContextData(),
                0,
                10,
                *(ObjectType(ObjectIdentity(o)) for o in oids),
                lookupMib=False,
            )
        finally:
            engine.close_dispatcher()

    err, status, _index, var_binds = loop.run(bulk(f"{RPDU2}.9.4.3.1.13.22"))
    assert not err and not int(status)
    assert [str(vb[0]) for vb in var_binds[:2]] == [f"{RPDU2}.9.4.3.1.13.23", f"{RPDU2}.9.4.3.1.13.24"]
    assert len(var_binds) == 3 and isinstance(var_binds[2][1], rfc1905.EndOfMibView)

    # two repeaters: rows continue while one of them still has data
    err, status, _index, var_binds = loop.run(bulk(LAST_OID, f"{RPDU2}.9.4.3.1.13.21"))
    assert not err
    ended = [isinstance(vb[1], rfc1905.EndOfMibView) for vb in var_binds]
    # rows: [end, .22] [end, .23] [end, .24] [end, end] -- then no more rows
    assert ended == [True, False, True, False, True, False, True, True]
    assert str(var_binds[5][0]) == LAST_OID


def test_dead_outlet_reads_on_but_draws_nothing(loop, tmp_path):
    with running_pdu(loop, tmp_path, rack=v2c_rack(), faults=[{"kind": "dead_outlet", "outlet": 3}]) as sim:
        reading = sim.driver.outlet(3)
        assert (reading.state, reading.current_a) == ("on", 0.0)
        assert (PDU, 3) in sim.state.dead_outlets
        assert sim.driver.outlet(2).current_a > 1.0


def test_overcurrent_and_phase_imbalance_scale_currents(loop, tmp_path):
    faults = [
        {"kind": "overcurrent", "outlet": 9, "factor": 3},
        {"kind": "phase_imbalance", "phase": "L3", "factor": 1.5},
    ]
    with running_pdu(loop, tmp_path, rack=v2c_rack(), faults=faults) as sim:
        nominal9 = sim.state.nominal_current(PDU, 9)
        assert sim.driver.outlet(9).current_a == pytest.approx(nominal9 * 3, abs=0.051)
        nominal17 = sim.state.nominal_current(PDU, 17)
        assert sim.driver.outlet(17).current_a == pytest.approx(nominal17 * 1.5, abs=0.051)
        phases = {p.phase: p.current_a for p in sim.driver.phases()}
        assert phases["L3"] == pytest.approx(sim.state.phase_current(PDU, "L3"), abs=0.051)


def test_overcurrent_factor_defaults_to_2_5(loop, tmp_path):
    with running_pdu(loop, tmp_path, rack=v2c_rack(), faults=[{"kind": "overcurrent", "outlet": 1}]) as sim:
        assert sim.state.current_scale[(PDU, 1)] == 2.5


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "melted_outlet"},
        {"kind": "dead_outlet"},
        {"kind": "dead_outlet", "outlet": 99},
        {"kind": "dead_outlet", "outlet": "3"},
        {"kind": "overcurrent", "outlet": 1, "factor": -1},
        {"kind": "phase_imbalance", "phase": "L7", "factor": 2},
        {"kind": "no_answer", "seconds": 3},
    ],
)
def test_bad_faults_are_config_errors(loop, tmp_path, fault):
    with pytest.raises(ConfigError), running_pdu(loop, tmp_path, rack=v2c_rack(), faults=[fault]):
        pass


def test_stats_and_state(sim, loop, client):
    before = sim.handle.stats()["requests"]
    get(loop, client, "1.3.6.1.2.1.1.3.0")
    assert sim.handle.stats()["requests"] == before + 1
    state = sim.handle.state()["outlets"]
    assert set(state) == {str(i) for i in range(1, 25)} and set(state.values()) == {"on"}
