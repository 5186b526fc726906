"""Station instruments in the simulated rack, and the rack-level electrical faults.

The simulated rack starts every instrument of the station next to the rack's
own devices (by driver name). It loads the station (the rack file's
``station:``, or the file given with ``--station``) once and hands it to
every simulator in its context.

Electrical faults act on the rack's test points, but the simulated rack hands
each simulator only the faults naming *its* device; so they are written on an
instrument wired to the test point (``test_point`` defaults to that
instrument's own)::

    - {device: dmm-1, kind: busbar_out_of_range, offset_v: -4.5}
    - {device: eload-1, kind: poor_regulation, extra_ohm: 0.3}
"""

from __future__ import annotations

from rackval.errors import ConfigError
from simulators.base import SimContext
from simulators.scenario import Fault, check_fault_params


def wired_test_point(ctx: SimContext, name: str) -> str | None:
    """The test point instrument ``name`` is wired to (None when unwired)."""
    station = ctx.station
    if station is None or name not in station.wiring:
        return None
    return station.wiring[name].test_point


def instrument_serial(ctx: SimContext, name: str, default: str) -> str:
    """The serial the station expects, so a nominal simulated bench passes its identity check."""
    station = ctx.station
    spec = station.instruments.get(name) if station else None
    return (spec.expected.serial if spec and spec.expected.serial else None) or default


def electrical_fault(ctx: SimContext, fault: Fault, default_test_point: str | None) -> bool:
    """Apply a test-point fault to the rack state; False when ``fault`` is not one."""
    if fault.kind == "busbar_out_of_range":
        params = check_fault_params(fault, {"test_point": str, "offset_v": object})
        tp = _test_point(ctx, fault, params.get("test_point", default_test_point))
        offset = _number(fault, params, "offset_v", -5.0)
        with ctx.state.lock:
            ctx.state.test_point_offset_v[tp] = offset
        return True
    if fault.kind == "poor_regulation":
        params = check_fault_params(fault, {"test_point": str, "extra_ohm": object})
        tp = _test_point(ctx, fault, params.get("test_point", default_test_point))
        extra = _number(fault, params, "extra_ohm", 0.3)
        if extra < 0:
            raise ConfigError(f"scenario: fault {fault.kind} on {fault.device}: extra_ohm must be >= 0")
        with ctx.state.lock:
            ctx.state.test_point_extra_resistance[tp] = extra
        return True
    return False


def _number(fault: Fault, params: dict, key: str, default: float) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"scenario: fault {fault.kind} on {fault.device}: {key} must be a number")
    return float(value)


def _test_point(ctx: SimContext, fault: Fault, name: str | None) -> str:
    if name is None:
        raise ConfigError(
            f"scenario: fault {fault.kind} on {fault.device}: the instrument is not wired; give test_point"
        )
    if name not in ctx.rack.test_points:
        raise ConfigError(f"scenario: fault {fault.kind} on {fault.device}: no test point named {name!r}")
    return name
