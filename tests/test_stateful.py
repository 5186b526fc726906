"""Stateful property test: random operations through the drivers, against the simulators.

A hypothesis RuleBasedStateMachine switches outlets (and drives instruments,
where the station has them) through rackval's own drivers over real sockets,
and after every step checks that what the drivers read equals the
simulators' model of the rack.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from rackval.model import load_rack
from rackval.session import RackSession
from rackval.station import station_for_rack
from simulators.rack import SimulatedRack
from tests.conftest import DEMO_RACK

RACK = load_rack(DEMO_RACK)
PDU_OUTLETS = [(name, i) for name, pdu in RACK.devices_of("pdu").items() for i in range(1, pdu.outlets + 1)]


@pytest.fixture(scope="module")
def simulated():
    sim = SimulatedRack(RACK)
    overlay = sim.start()
    session = RackSession(RACK, overlay, station=station_for_rack(RACK))
    yield sim, session
    session.close()
    sim.stop()


def test_outlets_drivers_agree_with_simulator(simulated):
    sim, session = simulated

    class OutletMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            for device, index in PDU_OUTLETS:  # every example starts from the delivered rack
                if not sim.state.outlet_on(device, index):
                    session.driver(device).set_outlet(index, "on")
            self.expected = {key: True for key in PDU_OUTLETS}

        @rule(outlet=st.sampled_from(PDU_OUTLETS), on=st.booleans())
        def switch(self, outlet, on):
            device, index = outlet
            session.driver(device).set_outlet(index, "on" if on else "off")
            self.expected[outlet] = on

        @invariant()
        def simulator_follows_commands(self):
            assert sim.state.outlets() == self.expected

        @invariant()
        def drivers_read_the_simulator(self):
            for device in RACK.devices_of("pdu"):
                snap = session.driver(device).snapshot()
                assert snap.errors == {}
                for reading in snap.outlets:
                    assert reading.state == ("on" if sim.state.outlet_on(device, reading.index) else "off")
                    assert reading.current_a == pytest.approx(
                        sim.state.outlet_current(device, reading.index), abs=0.051
                    )
                for phase in snap.phases:
                    assert phase.current_a == pytest.approx(
                        sim.state.phase_current(device, phase.phase), abs=0.051
                    )

    OutletMachine.TestCase.settings = settings(
        max_examples=10, stateful_step_count=6, deadline=None, suppress_health_check=list(HealthCheck)
    )
    OutletMachine.TestCase().runTest()


def test_instruments_drivers_agree_with_simulator(simulated):
    from rackval.devices import Bench

    sim, session = simulated
    bench = Bench(session.devices)
    supply, load, dmm = bench["psu-1"], bench["eload-1"], bench["dmm-1"]
    supply.set_ovp(20.0)
    busbar = sim.handles["dmm-1"].state()["test_point"]
    shelf = sim.handles["eload-1"].state()["test_point"]

    class BenchMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            supply.safe_state()
            load.safe_state()

        @rule(volts=st.floats(0, 15).map(lambda v: round(v, 3)))
        def set_supply_voltage(self, volts):
            supply.set_voltage(volts)

        @rule(on=st.booleans())
        def switch_supply(self, on):
            supply.output(on)

        @rule(amps=st.floats(0, 5).map(lambda a: round(a, 3)))
        def set_load_current(self, amps):
            load.set_constant_current(amps)

        @rule(on=st.booleans())
        def switch_load(self, on):
            load.input(on)

        @invariant()
        def supply_view_matches_simulator(self):
            model = sim.handles["psu-1"].state()
            assert supply.output_on() == model["output_on"]
            assert supply.settings()["voltage"] == pytest.approx(model["voltage_set"])

        @invariant()
        def load_view_matches_simulator(self):
            model = sim.handles["eload-1"].state()
            assert load.input_on() == model["input_on"]
            drawn = sim.state.test_point_load_a.get(shelf, 0.0)
            assert drawn == pytest.approx(model["current_set"] if model["input_on"] else 0.0, abs=1e-6)
            if model["input_on"]:
                assert load.measure_current() == pytest.approx(drawn, abs=1e-3)

        @invariant()
        def dmm_reads_the_rack(self):
            assert dmm.measure_dc_volts() == pytest.approx(sim.state.test_point_volts(busbar), abs=1e-3)

    BenchMachine.TestCase.settings = settings(
        max_examples=10, stateful_step_count=6, deadline=None, suppress_health_check=list(HealthCheck)
    )
    try:
        BenchMachine.TestCase().runTest()
    finally:
        session.devices.close()  # what ending the session does: instruments left safe
    assert sim.handles["psu-1"].state()["output_on"] is False
    assert sim.handles["eload-1"].state()["input_on"] is False
