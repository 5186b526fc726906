"""Keysight E36103B (20 V / 2 A single-output DC supply) simulator.

Dialect per the E36100 series programming guide: ``[SOURce:]VOLTage``,
``[SOURce:]CURRent`` (with ``MIN``/``MAX``/``DEF``), ``[SOURce:]VOLTage:PROTection``,
``VOLTage:PROTection:TRIPped?``, ``OUTPut:PROTection:CLEar``, ``OUTPut[:STATe]``,
``MEASure[:SCALar]:VOLTage[:DC]?`` / ``:CURRent[:DC]?``, ``APPLy``.

The output feeds the test point the station wires it to; the load there is
modelled as a resistor drawing the point's rated current at its nominal
voltage (an unwired output is open). The supply regulates voltage until the
current limit, then current (CV/CC). When the output would exceed the OVP level
it trips: output off until ``OUTPut:PROTection:CLEar``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulators.base import SimContext, SimHandle
from simulators.scpi.parser import Call, CommandSet, ScpiError, format_nr3, parse_bool, parse_number
from simulators.scpi.server import Instrument, serve
from simulators.state import RackState
from simulators.station import electrical_fault, instrument_serial, wired_test_point

FIRMWARE = "2.1.3-1.0.4-1.12"
V_MAX, I_MAX, OVP_MAX = 20.6, 2.06, 22.0
DEFAULT_LOAD_A = 0.5  # a supply_input test point without a rated current


@dataclass
class SupplyE36103B(Instrument):
    state: RackState | None = None
    test_point: str | None = None
    volts: float = 0.0
    amps: float = I_MAX
    ovp: float = OVP_MAX
    output: bool = False
    tripped: bool = False

    def add_commands(self, c: CommandSet) -> None:
        c.add("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]", self._set_volts, max_params=1)
        c.add(
            "[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]?",
            self._q(lambda: self.volts, 0, V_MAX),
        )
        c.add("[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]", self._set_amps, max_params=1)
        c.add(
            "[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]?",
            self._q(lambda: self.amps, 0, I_MAX),
        )
        c.add("[SOURce:]VOLTage:PROTection[:LEVel]", self._set_ovp, max_params=1)
        c.add("[SOURce:]VOLTage:PROTection[:LEVel]?", self._q(lambda: self.ovp, 0, OVP_MAX))
        c.add(
            "[SOURce:]VOLTage:PROTection:TRIPped?",
            lambda call: "1" if self.tripped else "0",
            max_params=0,
        )
        c.add("OUTPut:PROTection:CLEar", self._clear_protection, max_params=0)
        c.add("OUTPut[:STATe]", self._set_output, max_params=1)
        c.add("OUTPut[:STATe]?", lambda call: "1" if self.output else "0", max_params=0)
        c.add(
            "MEASure[:SCALar]:VOLTage[:DC]?",
            lambda call: format_nr3(self._operating()[0]),
            max_params=0,
        )
        c.add(
            "MEASure[:SCALar]:CURRent[:DC]?",
            lambda call: format_nr3(self._operating()[1]),
            max_params=0,
        )
        c.add("APPLy", self._apply, max_params=2)
        c.add(
            "APPLy?",
            lambda call: f'"{format_nr3(self.volts)},{format_nr3(self.amps)}"',
            max_params=0,
        )

    def reset(self) -> None:
        self.volts, self.amps, self.ovp, self.output, self.tripped = (
            0.0,
            I_MAX,
            OVP_MAX,
            False,
            False,
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "kind": "supply",
            "output_on": self.output,
            "voltage_set": self.volts,
            "current_limit": self.amps,
            "ovp": self.ovp,
            "ovp_tripped": self.tripped,
            "test_point": self.test_point,
        }

    # -- physics -------------------------------------------------------------------
    def _load_ohm(self) -> float | None:
        if self.test_point is None or self.state is None:
            return None
        tp = self.state.rack.test_points[self.test_point]
        return tp.nominal_v / (tp.rated_current_a or DEFAULT_LOAD_A)

    def _operating(self) -> tuple[float, float]:
        """(volts, amps) at the output terminals."""
        if not self.output:
            return 0.0, 0.0
        ohm = self._load_ohm()
        if ohm is None:
            return self.volts, 0.0
        volts = min(self.volts, self.amps * ohm)  # CC once the load wants more than the limit
        return round(volts, 5), round(volts / ohm, 5)

    def _check_ovp(self) -> None:
        if self.output and self.volts > self.ovp:
            self.output, self.tripped = False, True

    # -- handlers --------------------------------------------------------------------
    def _q(self, value, low: float, high: float):
        def handler(call: Call) -> str:
            if call.params:
                word = call.params[0].strip().upper()
                if word in ("MIN", "MINIMUM"):
                    return format_nr3(low)
                if word in ("MAX", "MAXIMUM"):
                    return format_nr3(high)
                raise ScpiError(-224)
            return format_nr3(value())

        return handler

    def _need(self, call: Call) -> str:
        if not call.params:
            raise ScpiError(-109)
        return call.params[0]

    def _set_volts(self, call: Call) -> None:
        self.volts = parse_number(self._need(call), low=0.0, high=V_MAX, default=0.0, unit="V")
        self._check_ovp()

    def _set_amps(self, call: Call) -> None:
        self.amps = parse_number(self._need(call), low=0.0, high=I_MAX, default=I_MAX, unit="A")

    def _set_ovp(self, call: Call) -> None:
        self.ovp = parse_number(self._need(call), low=0.0, high=OVP_MAX, default=OVP_MAX, unit="V")
        self._check_ovp()

    def _clear_protection(self, call: Call) -> None:
        self.tripped = False

    def _set_output(self, call: Call) -> None:
        on = parse_bool(self._need(call))
        if on and self.tripped:
            raise ScpiError(-221, "Settings conflict")  # clear the protection first
        self.output = on
        self._check_ovp()

    def _apply(self, call: Call) -> None:
        if not call.params:
            raise ScpiError(-109)
        volts = parse_number(call.params[0], low=0.0, high=V_MAX, default=0.0, unit="V")
        amps = self.amps
        if len(call.params) > 1:
            amps = parse_number(call.params[1], low=0.0, high=I_MAX, default=I_MAX, unit="A")
        self.volts, self.amps = volts, amps
        self._check_ovp()


def build(ctx: SimContext, name: str) -> SupplyE36103B:
    serial = instrument_serial(ctx, name, "MY61000123")
    return SupplyE36103B(
        idn=f"Keysight Technologies,E36103B,{serial},{FIRMWARE}",
        state=ctx.state,
        test_point=wired_test_point(ctx, name),
    )


def start(ctx: SimContext, name: str) -> SimHandle:
    supply = build(ctx, name)
    return serve(ctx, name, supply, lambda fault: electrical_fault(ctx, fault, supply.test_point))
