"""What the Redfish devices measure, derived from the shared :class:`~simulators.state.RackState`.

A host's electrical draw is what its PDU outlets deliver (``outlet_current`` x
line voltage x power factor, the figures the APC simulator uses); the heat a
CDU removes is the draw of the running hosts on its secondary loop; its pumps
raise the flow with the load, and the return temperature follows from
Q = P / (rho * c * flow).
"""

from __future__ import annotations

from simulators.state import RackState

LINE_VOLTS = 230.0
POWER_FACTOR = 0.95
COOLANT_DENSITY = {"PG25": 1020.0, "water": 997.0}  # kg/m^3
COOLANT_HEAT = {"PG25": 3.9, "water": 4.18}  # kJ/(kg K)


def host_watts(state: RackState, host: str) -> float:
    return (
        sum(state.outlet_current(pdu, idx) for pdu, idx in state.host_feeds(host)) * LINE_VOLTS * POWER_FACTOR
    )


def feed_watts(state: RackState, pdu: str, index: int) -> float:
    return state.outlet_current(pdu, index) * LINE_VOLTS * POWER_FACTOR


def heat_load_w(state: RackState, hosts: list[str]) -> float:
    return sum(host_watts(state, h) for h in hosts if state.host_running(h))


def secondary_flow_lpm(load_w: float, min_lpm: float = 10.0, lpm_per_kw: float = 1.6) -> float:
    return min_lpm + lpm_per_kw * load_w / 1000.0


def delta_t(load_w: float, flow_lpm: float, coolant: str = "PG25") -> float:
    """Temperature rise of the coolant carrying ``load_w`` at ``flow_lpm``."""
    if flow_lpm <= 0:
        return 0.0
    density = COOLANT_DENSITY.get(coolant, 1000.0)
    heat = COOLANT_HEAT.get(coolant, 4.0) * 1000.0  # J/(kg K)
    kg_per_s = flow_lpm / 60.0 / 1000.0 * density
    return load_w / (kg_per_s * heat)
