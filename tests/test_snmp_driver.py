"""The APC rPDU2 driver against the simulator, over real UDP (v2c and v3 authPriv)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyasn1.type.univ import OctetString
from pysnmp.proto.rfc1902 import Counter32, Gauge32, Integer32

from drivers.aio import LoopThread
from drivers.apc import (
    OUTLET_COMMAND,
    OUTLET_CURRENT,
    ApcRpdu2,
    decode_outlet_state,
    decode_tenths_of_amps,
)
from drivers.errors import (
    DeviceAuthError,
    DeviceProtocolError,
    DeviceReportedError,
    DeviceTimeout,
)
from drivers.snmp import SnmpClient
from tests.snmp_sim_helpers import PDU, demo_rack, running_pdu, v2c_rack, with_snmp


@pytest.fixture(scope="module")
def loop():
    with LoopThread("test-snmp-driver") as lt:
        yield lt


@pytest.fixture(params=["v3", "v2c", "v1"])
def sim(request, loop, tmp_path):
    """The same checks over every SNMP version a rack file may ask for (v1: GETNEXT walks)."""
    rack = {"v3": demo_rack, "v2c": v2c_rack, "v1": lambda: with_snmp(v2c_rack(), version="1")}[
        request.param
    ]()
    with running_pdu(loop, tmp_path, rack=rack) as s:
        yield s


def test_snapshot_matches_rack_state(sim):
    snap = sim.driver.snapshot()
    expected = sim.rack.devices[PDU].expected
    assert snap.identity.model == expected.model == "AP8653"
    assert snap.identity.serial == expected.serial
    assert snap.identity.firmware == expected.firmware
    assert snap.identity.name == PDU
    assert (snap.identity.outlet_count, snap.identity.phase_count) == (24, 3)

    assert [o.index for o in snap.outlets] == list(range(1, 25))
    feeds = {f.index: f for f in sim.rack.feeds_of(PDU)}
    for outlet in snap.outlets:
        assert outlet.state == "on"
        wanted = sim.state.outlet_current(PDU, outlet.index)
        assert outlet.current_a == pytest.approx(wanted, abs=0.051)
        assert outlet.phase == sim.state.outlet_phase(PDU, outlet.index)
        feed = feeds.get(outlet.index)
        assert outlet.name == (feed.outlet_name if feed else f"Outlet {outlet.index}")
    assert snap.outlets[0].name == "srv-01-psu1"
    assert snap.outlets[0].current_a > 1.0

    assert [p.phase for p in snap.phases] == ["L1", "L2", "L3"]
    for phase in snap.phases:
        wanted = sim.state.phase_current(PDU, phase.phase)
        assert phase.current_a == pytest.approx(wanted, abs=0.051)
        assert phase.voltage_v == 230
        assert phase.power_w == pytest.approx(phase.current_a * 230 * 0.95, rel=0.05, abs=10)


def test_snapshot_uses_few_requests(loop, tmp_path):
    with running_pdu(loop, tmp_path, rack=v2c_rack()) as sim:
        before = sim.requests()
        sim.driver.snapshot()
        used = sim.requests() - before
    # identity: 1 GET; outlets: 4 columns x 24 rows via GETBULK; phases: 4 x 3
    assert 1 <= used <= 8, used


def test_set_outlet_off_on_changes_state_and_current(sim):
    driver, state = sim.driver, sim.state
    phase = state.outlet_phase(PDU, 1)
    phase_before = {p.phase: p.current_a for p in driver.phases()}[phase]
    outlet_current = driver.outlet(1).current_a
    assert outlet_current > 1.0

    driver.set_outlet(1, "off")
    assert state.outlet_on(PDU, 1) is False
    reading = driver.outlet(1)
    assert (reading.state, reading.current_a) == ("off", 0.0)
    phase_after = {p.phase: p.current_a for p in driver.phases()}[phase]
    assert phase_after == pytest.approx(phase_before - outlet_current, abs=0.15)
    assert sim.handle.state()["outlets"]["1"] == "off"

    driver.set_outlet(1, "on")
    assert state.outlet_on(PDU, 1) is True
    assert driver.outlet(1).current_a == pytest.approx(outlet_current, abs=0.051)


def test_cycle_turns_off_then_back_on(sim):
    sim.driver.set_outlet(2, "cycle")
    assert sim.state.outlet_on(PDU, 2) is False
    assert sim.driver.outlet(2).state == "off"
    deadline = time.monotonic() + 10
    while not sim.state.outlet_on(PDU, 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.driver.outlet(2).state == "on"


def test_wrong_credentials_raise_auth_error_naming_device(loop, tmp_path):
    with (
        running_pdu(loop, tmp_path, faults=[{"kind": "wrong_credentials"}]) as sim,
        pytest.raises(DeviceAuthError) as info,
    ):
        sim.driver.identity()
    assert info.value.device == PDU
    assert PDU in str(info.value)
    assert "demo-auth-key" not in str(info.value) and "demo-priv-key" not in str(info.value)


def test_no_answer_times_out_within_timeout_naming_device_and_oid(loop, tmp_path):
    rack = v2c_rack(timeout_s=0.5, retries=0)
    with running_pdu(loop, tmp_path, rack=rack, faults=[{"kind": "no_answer"}]) as sim:
        start = time.monotonic()
        with pytest.raises(DeviceTimeout) as info:
            sim.driver.outlet(3)
        elapsed = time.monotonic() - start
        assert sim.requests() == 1
    assert elapsed < 0.5 + 1.0
    assert info.value.device == PDU
    assert f"{OUTLET_COMMAND.rsplit('.', 3)[0]}" in info.value.operation
    assert ".3" in info.value.operation


def test_reads_are_retried_but_a_set_is_never_retried(loop, tmp_path):
    rack = v2c_rack(timeout_s=0.3, retries=2)
    with running_pdu(loop, tmp_path, rack=rack, faults=[{"kind": "no_answer"}]) as sim:
        with pytest.raises(DeviceTimeout):
            sim.driver.identity()
        assert sim.requests() == 3  # one try + two retries
        with pytest.raises(DeviceTimeout) as info:
            sim.driver.set_outlet(5, "off")
        assert sim.requests() == 4  # exactly one SET datagram
        assert info.value.operation == f"SET {OUTLET_COMMAND}.5"
        assert sim.state.outlet_on(PDU, 5) is True


def test_garbled_current_is_a_protocol_error(loop, tmp_path):
    with running_pdu(loop, tmp_path, faults=[{"kind": "garbled"}]) as sim:
        with pytest.raises(DeviceProtocolError) as info:
            sim.driver.outlets()
        assert OUTLET_CURRENT in info.value.operation
        assert "expected an integer" in info.value.detail
        with pytest.raises(DeviceProtocolError):
            sim.driver.outlet(1)
        # identity is unaffected: the fault is on the metered current column only
        assert sim.driver.identity().model == "AP8653"


def test_device_reported_error_for_outlet_that_does_not_exist(loop, tmp_path):
    with running_pdu(loop, tmp_path, rack=v2c_rack()) as sim:
        with pytest.raises(DeviceReportedError) as info:
            sim.driver.set_outlet(99, "on")
        assert "noCreation" in str(info.value)
        assert f"{OUTLET_COMMAND}.99" in str(info.value)
        with pytest.raises(DeviceProtocolError) as missing:
            sim.driver.outlet(99)
        assert "noSuchInstance" in missing.value.detail


def test_firmware_fault_is_reported(loop, tmp_path):
    with running_pdu(loop, tmp_path, faults=[{"kind": "firmware", "firmware": "v6.8.2"}]) as sim:
        assert sim.driver.identity().firmware == "v6.8.2"


def test_client_reuses_one_engine(loop, tmp_path):
    with running_pdu(loop, tmp_path) as sim:
        client = SnmpClient(sim.target)

        async def twice():
            await client.get("1.3.6.1.2.1.1.5.0")
            first = client._engine
            await client.get("1.3.6.1.2.1.1.5.0")
            assert client._engine is first
            client.close()

        loop.run(twice())


def test_driver_constructor_and_name(loop, tmp_path):
    with running_pdu(loop, tmp_path) as sim:
        assert isinstance(sim.driver, ApcRpdu2)
        assert sim.driver.name == PDU
        with pytest.raises(ValueError):
            sim.driver.set_outlet(1, "toggle")  # type: ignore[arg-type]


# -- value decoding: garbage is an error, never a wrong value -----------------
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_tenths_of_amps_decode_exactly(n):
    for value in (Integer32(n), Gauge32(n)):
        assert decode_tenths_of_amps(value, "pdu-x", "1.2.3") == round(n / 10, 1)


@given(st.integers(min_value=-(2**31), max_value=-1))
def test_negative_currents_are_rejected(n):
    with pytest.raises(DeviceProtocolError):
        decode_tenths_of_amps(Integer32(n), "pdu-x", "1.2.3")


@given(st.one_of(st.binary(max_size=16), st.text(max_size=16).map(str.encode)))
def test_strings_are_never_read_as_currents(raw):
    with pytest.raises(DeviceProtocolError) as info:
        decode_tenths_of_amps(OctetString(raw), "pdu-x", "1.2.3")
    assert info.value.device == "pdu-x" and "1.2.3" in info.value.operation


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_outlet_state_enum(n):
    if n in (1, 2):
        assert decode_outlet_state(Integer32(n), "pdu-x", "1.2.3") == {1: "off", 2: "on"}[n]
    else:
        with pytest.raises(DeviceProtocolError):
            decode_outlet_state(Integer32(n), "pdu-x", "1.2.3")


@given(st.one_of(st.none(), st.floats(), st.text(), st.booleans()))
def test_non_snmp_values_are_rejected(value):
    with pytest.raises(DeviceProtocolError):
        decode_tenths_of_amps(value, "pdu-x", "1.2.3")
    with pytest.raises(DeviceProtocolError):
        decode_outlet_state(value, "pdu-x", "1.2.3")


def test_counter_is_an_integer_type():
    assert decode_tenths_of_amps(Counter32(25), "pdu-x", "1.2.3") == 2.5
