"""Instrument drivers against the instrument simulators, through pyvisa (@py) over TCP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvisa

from drivers.base import Target
from drivers.errors import DeviceTimeout, DeviceUnreachable, ParseError
from drivers.instruments.dmm import Keysight34465A
from drivers.instruments.eload import KeysightEL34143A
from drivers.instruments.supply import KeysightE36103B
from drivers.scpi import InstrumentError, VisaSettings
from rackval.errors import ConfigError
from rackval.model import load_rack
from rackval.station import station_for_rack
from simulators.base import SimContext, SimHandle
from simulators.scenario import Fault
from simulators.scpi import dmm as dmm_sim
from simulators.scpi import eload as eload_sim
from simulators.scpi import supply as supply_sim
from simulators.state import RackState

ROOT = Path(__file__).resolve().parent.parent
DEMO_RACK = ROOT / "fixtures" / "racks" / "demo.yaml"
SIMS = {"dmm-1": dmm_sim.start, "eload-1": eload_sim.start, "psu-1": supply_sim.start}
DRIVERS = {"dmm-1": Keysight34465A, "eload-1": KeysightEL34143A, "psu-1": KeysightE36103B}


class Bench:
    """The demo station's simulators in this process, and drivers talking to them."""

    def __init__(self, tmp: Path) -> None:
        self.rack = load_rack(DEMO_RACK)
        self.state = RackState(self.rack)
        self.station = station_for_rack(self.rack)  # the demo station: which channel is on which test point
        self.tmp = tmp
        self.handles: list[SimHandle] = []
        self.drivers: list = []

    def start(self, name: str, faults: list[dict] | None = None, timeout_ms: int = 1000):
        ctx = SimContext(
            rack=self.rack,
            state=self.state,
            faults=[Fault(device=name, **f) for f in faults or []],
            latency_s=0.0,
            loop=asyncio.new_event_loop(),
            workdir=self.tmp,
            resolve_secret=lambda ref: ref,
            station=self.station,
        )
        handle = SIMS[name](ctx, name)
        self.handles.append(handle)
        drv = DRIVERS[name](self.target(name, handle.endpoint["resource"], timeout_ms), None)
        self.drivers.append(drv)
        return drv, handle

    @staticmethod
    def target(name: str, resource: str, timeout_ms: int = 1000) -> Target:
        settings = VisaSettings(resource=resource, timeout_ms=timeout_ms)
        return Target(name=name, host="127.0.0.1", port=0, settings=settings, timeout_s=timeout_ms / 1000)

    def stop(self) -> None:
        for drv in self.drivers:
            drv.close()
        for h in self.handles:
            h.stop()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    b = Bench(tmp_path)
    try:
        yield b
    finally:
        b.stop()


def test_identity_over_pyvisa_matches_the_station(bench):
    for name, model, serial in (
        ("dmm-1", "34465A", "MY59001234"),
        ("eload-1", "EL34143A", "MY62000456"),
        ("psu-1", "E36103B", "MY61000123"),
    ):
        drv, handle = bench.start(name)
        assert handle.endpoint["resource"] == f"TCPIP0::127.0.0.1::{handle.endpoint['port']}::SOCKET"
        ident = drv.identity()
        assert (ident.manufacturer, ident.model, ident.serial) == ("Keysight Technologies", model, serial)


def test_a_standard_pyvisa_client_works_unchanged(bench):
    _, handle = bench.start("dmm-1")
    rm = pyvisa.ResourceManager("@py")
    res = rm.open_resource(handle.endpoint["resource"], read_termination="\n", write_termination="\n")
    try:
        assert res.query("*IDN?").startswith("Keysight Technologies,34465A,")
        assert float(res.query("MEAS:VOLT:DC?")) == pytest.approx(48.0)
        assert res.query("SYST:ERR?") == '+0,"No error"'
    finally:
        res.close()


def test_dmm_reads_the_busbar_and_sees_the_pdu_outlets(bench):
    dmm, _ = bench.start("dmm-1")
    assert dmm.measure_dc_volts() == pytest.approx(48.0)
    assert dmm.measure_dc_volts(range_v=100) == pytest.approx(48.0)
    assert dmm.measure_ac_volts() < 0.01
    bench.state.set_outlet("pdu-a", 19, False)
    assert dmm.measure_dc_volts() == pytest.approx(48.0)  # still fed by pdu-b
    bench.state.set_outlet("pdu-b", 19, False)
    assert dmm.measure_dc_volts() == 0.0
    assert dmm.measure_dc_volts(range_v=1) == 0.0
    bench.state.set_outlet("pdu-a", 19, True)
    assert dmm.measure_dc_volts(range_v=10) == float("inf")  # 48 V on the 10 V range: overload


def test_eload_pulls_the_shelf_output_down_and_close_leaves_it_off(bench):
    eload, handle = bench.start("eload-1")
    assert eload.measure_voltage() == pytest.approx(48.0)
    eload.set_constant_current(5)
    eload.input(True)
    assert eload.input_on()
    assert eload.measure_current() == pytest.approx(5.0)
    assert eload.measure_voltage() == pytest.approx(48.0 - 5 * 0.012)
    assert eload.measure_power() == pytest.approx(5 * (48.0 - 5 * 0.012), rel=1e-4)
    assert bench.state.test_point_load_a["shelf-1-out"] == pytest.approx(5.0)
    eload.close()
    assert handle.state()["input_on"] is False
    assert bench.state.test_point_load_a["shelf-1-out"] == 0.0


def test_eload_is_power_limited(bench):
    eload, _ = bench.start("eload-1")
    eload.set_constant_current(20)
    eload.input(True)
    volts, amps = eload.measure_voltage(), eload.measure_current()
    assert volts * amps == pytest.approx(350.0, rel=1e-3)


def test_supply_regulates_and_trips_its_ovp(bench):
    supply, handle = bench.start("psu-1")
    supply.set_ovp(13.2)
    supply.set_current_limit(1.0)
    supply.set_voltage(12.0)
    supply.output(True)
    assert supply.output_on()
    assert supply.measure_voltage() == pytest.approx(12.0)
    # wired to shelf-1-aux-12v (12 V nominal, rated 0.5 A): a load of 24 ohm
    assert supply.measure_current() == pytest.approx(0.5)
    assert supply.settings() == {"voltage": 12.0, "current_limit": 1.0, "ovp": 13.2}
    supply.set_voltage(14.0)
    assert supply.ovp_tripped()
    assert not supply.output_on()
    with pytest.raises(InstrumentError) as info:
        supply.output(True)  # refused until the protection is cleared
    assert info.value.code == -221
    supply.clear_protection()
    supply.set_voltage(5)
    supply.output(True)
    supply.close()
    assert handle.state()["output_on"] is False


def test_instrument_errors_carry_code_text_resource_and_command(bench):
    dmm, handle = bench.start("dmm-1")
    with pytest.raises(InstrumentError) as info:
        dmm.send("CONF:VOLT:DC 5000")
    err = info.value
    assert (err.code, err.text) == (-222, "Data out of range")
    assert err.device == "dmm-1" and err.command == "CONF:VOLT:DC 5000"
    assert err.resource == handle.endpoint["resource"]
    assert handle.endpoint["resource"] in str(err) and "CONF:VOLT:DC 5000" in str(err)
    with pytest.raises(InstrumentError, match=r'-113,"Undefined header"'):
        dmm.ask("VOLT:BOGUS?", "*CLS")  # a query the instrument does not know: no reply, then the error
    # the queue was drained: the next sequence is clean
    assert dmm.measure_dc_volts() == pytest.approx(48.0)


def test_error_queue_overflow_and_esr_through_the_driver(bench):
    dmm, handle = bench.start("dmm-1")
    rm = pyvisa.ResourceManager("@py")
    raw = rm.open_resource(handle.endpoint["resource"], read_termination="\n", write_termination="\n")
    try:
        for _ in range(25):
            raw.write("NOT:A:COMMAND")
        raw.query("*OPC?")  # the writes have been processed
    finally:
        raw.close()
    errors = dmm.errors()
    assert len(errors) == 20
    assert errors[-1] == (-350, "Queue overflow")
    assert dmm.event_status() & 32  # command error bit
    assert dmm.event_status() == 0  # reading *ESR? cleared it
    dmm.send("NOT:A:COMMAND", "*CLS")  # *CLS empties the queue before the drain
    assert dmm.errors() == []


def test_a_silent_instrument_times_out_once_then_fails_at_once(bench):
    eload, handle = bench.start("eload-1", [{"kind": "no_answer", "after": 2}], timeout_ms=300)
    assert eload.identity().model == "EL34143A"  # *IDN? + SYST:ERR?: two requests answered
    with pytest.raises(DeviceTimeout) as info:
        eload.measure_voltage()
    assert "eload-1" in str(info.value) and handle.endpoint["resource"] in str(info.value)
    assert "300 ms" in str(info.value)
    with pytest.raises(DeviceTimeout, match="not retried"):
        eload.input_on()
    eload.close()  # must not raise or wait for answers that never come


def test_garbled_replies_raise_parse_errors(bench):
    dmm, _ = bench.start("dmm-1", [{"kind": "garbled"}])
    with pytest.raises(ParseError) as info:
        dmm.identity()
    assert "dmm-1" in str(info.value)


def test_error_on_a_valid_command(bench):
    dmm, _ = bench.start("dmm-1", [{"kind": "error_on", "command": "CONFigure:VOLTage:DC"}])
    assert dmm.identity().model == "34465A"
    with pytest.raises(InstrumentError) as info:
        dmm.measure_dc_volts()
    assert (info.value.code, info.value.text) == (-240, "Hardware error")


def test_fault_parameters_are_checked(bench):
    with pytest.raises(ConfigError, match="not a command of this instrument"):
        bench.start("dmm-1", [{"kind": "error_on", "command": "NOT:THERE"}])
    with pytest.raises(ConfigError, match="unknown fault kind"):
        bench.start("dmm-1", [{"kind": "dead_outlet"}])


def test_electrical_faults_change_the_test_points(bench):
    dmm, _ = bench.start("dmm-1", [{"kind": "busbar_out_of_range", "offset_v": -4.5}])
    eload, _ = bench.start("eload-1", [{"kind": "poor_regulation", "extra_ohm": 0.3}])
    assert dmm.measure_dc_volts() == pytest.approx(43.5)
    eload.set_constant_current(3)
    eload.input(True)
    assert eload.measure_voltage() == pytest.approx(48.0 - 3 * (0.012 + 0.3))


def test_unreachable_instrument(bench):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dmm = Keysight34465A(bench.target("dmm-1", f"TCPIP0::127.0.0.1::{port}::SOCKET", 500), None)
    with pytest.raises(DeviceUnreachable) as info:
        dmm.identity()
    assert "dmm-1" in str(info.value) and str(port) in str(info.value)
    dmm.close()
