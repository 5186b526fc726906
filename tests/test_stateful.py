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
from simulators.rack import SimulatedRack
from tests.conftest import DEMO_RACK

RACK = load_rack(DEMO_RACK)
PDU_OUTLETS = [(name, i) for name, pdu in RACK.devices_of("pdu").items() for i in range(1, pdu.outlets + 1)]


@pytest.fixture(scope="module")
def simulated():
    sim = SimulatedRack(RACK)
    overlay = sim.start()
    session = RackSession(RACK, overlay)
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
