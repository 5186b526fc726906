"""Keysight EL34143A (150 V / 60 A / 350 W DC electronic load) simulator.

Dialect per the EL30000 series programming guide: ``[SOURce:]FUNCtion``
(``CURRent|VOLTage|POWer|RESistance``), ``[SOURce:]CURRent[:LEVel][:IMMediate]
[:AMPLitude]``, ``INPut[:STATe]``, ``MEASure[:SCALar]:VOLTage|CURRent|POWer[:DC]?``.

The input sits on the test point the station wires it to. In constant-current
mode with the input on it sinks its setpoint (limited to 350 W), and the
simulated rack's test point sees that load: its voltage drops by I*R of the
point's output resistance (plus any ``poor_regulation`` fault).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from simulators.base import SimContext, SimHandle
from simulators.scpi.parser import (
    Call,
    CommandSet,
    ScpiError,
    choices,
    format_nr3,
    parse_bool,
    parse_choice,
    parse_number,
)
from simulators.scpi.server import Instrument, serve
from simulators.state import RackState
from simulators.station import electrical_fault, instrument_serial, wired_test_point

FIRMWARE = "A.01.08-01.02"
V_MAX, I_MAX, P_MAX = 150.0, 61.2, 350.0
FUNCS = choices("CURRent", "VOLTage", "POWer", "RESistance")


@dataclass
class EloadEL34143A(Instrument):
    state: RackState | None = None
    test_point: str | None = None
    function: str = "CURR"
    amps: float = 0.0
    input_on: bool = False

    def add_commands(self, c: CommandSet) -> None:
        c.add("[SOURce:]FUNCtion", self._set_function, max_params=1)
        c.add("[SOURce:]FUNCtion?", lambda call: self.function, max_params=0)
        c.add("[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]", self._set_amps, max_params=1)
        c.add("[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]?", self._get_amps, max_params=1)
        c.add("INPut[:STATe]", self._set_input, max_params=1)
        c.add("INPut[:STATe]?", lambda call: "1" if self.input_on else "0", max_params=0)
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
        c.add("MEASure[:SCALar]:POWer[:DC]?", self._power, max_params=0)

    def reset(self) -> None:
        self.function, self.amps, self.input_on = "CURR", 0.0, False
        self._update_load()

    def snapshot(self) -> dict[str, Any]:
        return {
            "kind": "eload",
            "input_on": self.input_on,
            "function": self.function,
            "current_set": self.amps,
            "test_point": self.test_point,
        }

    # -- physics -------------------------------------------------------------------
    def _sink_current(self) -> float:
        """Current actually drawn (0 unless on in CC mode; power-limited to 350 W)."""
        if not self.input_on or self.function != "CURR" or self.test_point is None or self.state is None:
            return 0.0
        volts = self.state.test_point_volts(self.test_point, load_current_a=self.amps)
        if volts <= 0:
            return 0.0
        if volts * self.amps <= P_MAX:
            return self.amps
        # power limit: I * (V0 - I*R) = P_MAX, the smaller root
        open_v = self.state.test_point_volts(self.test_point, load_current_a=0.0)
        ohm = (open_v - volts) / self.amps
        if ohm <= 0:
            return P_MAX / open_v
        disc = max(0.0, open_v * open_v - 4 * ohm * P_MAX)
        return (open_v - math.sqrt(disc)) / (2 * ohm)

    def _update_load(self) -> None:
        if self.test_point is not None and self.state is not None:
            self.state.set_test_point_load(self.test_point, self._sink_current())

    def _operating(self) -> tuple[float, float]:
        if self.test_point is None or self.state is None:
            return 0.0, 0.0
        self._update_load()  # the rack may have changed (an outlet switched off)
        amps = self._sink_current()
        volts = self.state.test_point_volts(self.test_point)
        return round(volts, 5), round(amps if volts > 0 else 0.0, 5)

    def _power(self, call: Call) -> str:
        volts, amps = self._operating()
        return format_nr3(round(volts * amps, 4))

    # -- handlers --------------------------------------------------------------------
    def _set_function(self, call: Call) -> None:
        if not call.params:
            raise ScpiError(-109)
        self.function = parse_choice(call.params[0], FUNCS)
        self._update_load()

    def _set_amps(self, call: Call) -> None:
        if not call.params:
            raise ScpiError(-109)
        self.amps = parse_number(call.params[0], low=0.0, high=I_MAX, default=0.0, unit="A")
        self._update_load()

    def _get_amps(self, call: Call) -> str:
        if call.params:
            word = call.params[0].strip().upper()
            if word in ("MIN", "MINIMUM"):
                return format_nr3(0.0)
            if word in ("MAX", "MAXIMUM"):
                return format_nr3(I_MAX)
            raise ScpiError(-224)
        return format_nr3(self.amps)

    def _set_input(self, call: Call) -> None:
        if not call.params:
            raise ScpiError(-109)
        self.input_on = parse_bool(call.params[0])
        self._update_load()


def build(ctx: SimContext, name: str) -> EloadEL34143A:
    serial = instrument_serial(ctx, name, "MY62000456")
    return EloadEL34143A(
        idn=f"Keysight Technologies,EL34143A,{serial},{FIRMWARE}",
        state=ctx.state,
        test_point=wired_test_point(ctx, name),
    )


def start(ctx: SimContext, name: str) -> SimHandle:
    eload = build(ctx, name)
    return serve(ctx, name, eload, lambda fault: electrical_fault(ctx, fault, eload.test_point))
