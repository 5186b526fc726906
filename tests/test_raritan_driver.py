"""The Raritan PX driver against the Raritan simulator over real SNMP, and its parsers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pysnmp.proto.rfc1902 import Gauge32, Integer32, OctetString

from drivers.aio import LoopThread
from drivers.errors import DeviceAuthError, DeviceProtocolError, DeviceTimeout
from drivers.raritan import (
    decode_digits,
    decode_outlet_state,
    decode_reading,
    phase_count_of_poles,
    scale_reading,
)
from tests.raritan_sim_helpers import PDU, raritan_rack, running_raritan


@pytest.fixture(scope="module")
def loop():
    with LoopThread("test-raritan-driver") as lt:
        yield lt


@pytest.fixture(params=["2c", "3"])
def sim(request, loop, tmp_path):
    with running_raritan(loop, tmp_path, rack=raritan_rack(request.param)) as s:
        yield s


# -- parsers -------------------------------------------------------------------------
@given(raw=st.integers(min_value=0, max_value=2**32 - 1), digits=st.integers(min_value=0, max_value=4))
def test_scale_reading_round_trips_the_wire_integer(raw, digits):
    value = scale_reading(raw, digits)
    assert round(value * 10**digits) == raw
    assert value >= 0


@given(raw=st.integers(max_value=-1), digits=st.integers(min_value=0, max_value=4))
def test_scale_reading_refuses_negative_unsigned_values(raw, digits):
    with pytest.raises(ValueError):
        scale_reading(raw, digits)


def test_decoders_refuse_garbage_naming_device_and_oid():
    assert decode_reading(Gauge32(2417), 3, PDU, "x") == pytest.approx(2.417)
    assert decode_reading(Gauge32(95), 2, PDU, "x") == pytest.approx(0.95)
    with pytest.raises(DeviceProtocolError) as info:
        decode_reading(OctetString(b"2.417 A"), 3, PDU, "1.3.6.1.4.1.13742.6.5.4.3.1.4.1.1.1")
    assert PDU in str(info.value) and "13742.6.5.4.3.1.4.1.1.1" in str(info.value)
    with pytest.raises(DeviceProtocolError):
        decode_digits(Gauge32(40), PDU, "x")
    assert decode_outlet_state(Integer32(7), PDU, "x") == "on"
    assert decode_outlet_state(Integer32(8), PDU, "x") == "off"
    with pytest.raises(DeviceProtocolError, match="on\\(7\\)"):
        decode_outlet_state(Integer32(1), PDU, "x")  # switchingOperation's on(1) is not a state


@pytest.mark.parametrize(("poles", "phases"), [(1, 1), (2, 1), (3, 3), (4, 3)])
def test_phase_count_of_poles(poles, phases):
    assert phase_count_of_poles(poles) == phases


# -- against the simulator ------------------------------------------------------------
def test_identity(sim):
    ident = sim.driver.identity()
    assert (ident.model, ident.serial, ident.firmware) == ("PX3-5496V", "1S12300102", "4.2.0.5-50274")
    assert (ident.outlet_count, ident.phase_count, ident.name) == (24, 3, PDU)


def test_snapshot_readings_follow_the_rack_state(sim):
    snap = sim.driver.snapshot()
    assert snap.errors == {}
    assert len(snap.outlets) == 24
    first = snap.outlet(1)
    assert (first.name, first.state) == ("srv-01-psu2", "on")
    assert first.current_a == pytest.approx(sim.state.outlet_current(PDU, 1), abs=0.001)
    assert snap.outlet(24).current_a == 0.0  # nothing plugged in
    phases = {p.phase: p for p in snap.phases}
    assert set(phases) == {"L1", "L2", "L3"}
    for name, phase in phases.items():
        assert phase.current_a == pytest.approx(sim.state.phase_current(PDU, name), abs=0.002)
        assert phase.voltage_v == 230
        assert phase.power_w == pytest.approx(phase.current_a * 230 * 0.95, abs=1)


def test_switch_off_and_restore(sim):
    sim.driver.set_outlet(10, "off")
    reading = sim.driver.outlet(10)
    assert (reading.state, reading.current_a) == ("off", 0.0)
    assert sim.state.outlet_on(PDU, 10) is False
    sim.driver.set_outlet(10, "on")
    reading = sim.driver.outlet(10)
    assert reading.state == "on" and reading.current_a > 1.5
    with pytest.raises(ValueError):
        sim.driver.set_outlet(10, "reboot")  # type: ignore[arg-type]


def test_garbled_current_is_kept_per_outlet(loop, tmp_path):
    with running_raritan(loop, tmp_path, faults=[{"kind": "garbled"}]) as sim:
        snap = sim.driver.snapshot()
        assert snap.identity is not None and len(snap.phases) == 3
        assert set(snap.errors) == {f"current/{i}" for i in range(1, 25)}
        assert "13742.6.5.4.3.1.4.1.7.1" in str(snap.errors["current/7"])
        with pytest.raises(DeviceProtocolError):
            sim.driver.outlet(7)


def test_wrong_credentials_is_an_auth_error_naming_device_and_operation(loop, tmp_path):
    with running_raritan(loop, tmp_path, faults=[{"kind": "wrong_credentials"}]) as sim:
        with pytest.raises(DeviceAuthError) as info:
            sim.driver.identity()
        assert info.value.device == PDU
        assert info.value.operation.startswith("GET 1.3.6.1.4.1.13742.6.")
        assert PDU in str(info.value)


def test_no_answer_is_a_timeout(loop, tmp_path):
    rack = raritan_rack("3", timeout_s=0.3, retries=1)
    with running_raritan(loop, tmp_path, rack=rack, faults=[{"kind": "no_answer"}]) as sim:
        with pytest.raises(DeviceTimeout) as info:
            sim.driver.outlet(1)
        assert info.value.device == PDU and "GET" in info.value.operation
        assert sim.requests() >= 1


def test_unknown_fault_is_a_config_error(loop, tmp_path):
    from rackval.errors import ConfigError

    with (
        pytest.raises(ConfigError, match="raritan-px"),
        running_raritan(loop, tmp_path, faults=[{"kind": "leak"}]),
    ):
        pass
