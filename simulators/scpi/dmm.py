"""Keysight 34465A (Truevolt 6½-digit DMM) simulator.

Dialect per the Truevolt SCPI reference: ``CONFigure:VOLTage[:DC] [range]``,
``CONFigure:VOLTage:AC``, ``CONFigure:CURRent[:DC]``, ``CONFigure:RESistance``,
``CONFigure?``, ``READ?``, ``INITiate``/``FETCh?``, ``MEASure:...?``,
``[SENSe:]FUNCtion``. Readings are NR3 (``+4.80000000E+01``); an overload reads
``+9.90000000E+37``. The probes sit on the test point the station wires the DMM
to; it reads that point's voltage in the simulated rack (0 V when unwired).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulators.base import SimContext, SimHandle
from simulators.scpi.parser import Call, CommandSet, ScpiError, format_nr3, parse_number
from simulators.scpi.server import Instrument, serve
from simulators.state import RackState
from simulators.station import electrical_fault, instrument_serial, wired_test_point

OVERLOAD = 9.9e37
FIRMWARE = "A.03.01-03.15-03.01-00.52-03-02"

# function -> (SCPI function name as FUNC? returns it, ranges, default range)
FUNCTIONS: dict[str, tuple[str, tuple[float, ...], float]] = {
    "VOLT": ('"VOLT"', (0.1, 1.0, 10.0, 100.0, 1000.0), 10.0),
    "VOLT:AC": ('"VOLT:AC"', (0.1, 1.0, 10.0, 100.0, 750.0), 10.0),
    "CURR": ('"CURR"', (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0, 10.0), 1.0),
    "RES": ('"RES"', (100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9), 1e3),
}
FUNC_NAMES = {
    "VOLT": "VOLT", "VOLTAGE": "VOLT", "VOLT:DC": "VOLT", "VOLTAGE:DC": "VOLT",
    "VOLT:AC": "VOLT:AC", "VOLTAGE:AC": "VOLT:AC",
    "CURR": "CURR", "CURRENT": "CURR", "CURR:DC": "CURR", "CURRENT:DC": "CURR",
    "RES": "RES", "RESISTANCE": "RES",
}  # fmt: skip


@dataclass
class Dmm34465A(Instrument):
    state: RackState | None = None
    test_point: str | None = None
    function: str = "VOLT"
    range: float = 10.0
    autorange: bool = True
    initiated: bool = False

    def add_commands(self, c: CommandSet) -> None:
        for func, pattern in (
            ("VOLT", "VOLTage[:DC]"),
            ("VOLT:AC", "VOLTage:AC"),
            ("CURR", "CURRent[:DC]"),
            ("RES", "RESistance"),
        ):
            c.add(f"CONFigure:{pattern}", self._configure(func))
            c.add(f"MEASure:{pattern}?", self._measure(func))
            c.add(f"[SENSe:]{pattern}:RANGe", self._set_range(func), max_params=1)
            c.add(f"[SENSe:]{pattern}:RANGe?", self._get_range(func), max_params=1)
            c.add(f"[SENSe:]{pattern}:RANGe:AUTO", self._set_auto(func), max_params=1)
            c.add(
                f"[SENSe:]{pattern}:RANGe:AUTO?",
                lambda call: "1" if self.autorange else "0",
                max_params=0,
            )
        c.add("CONFigure?", self._conf_query, max_params=0)
        c.add("READ?", lambda call: self._reading(), max_params=0)
        c.add("INITiate[:IMMediate]", self._initiate, max_params=0)
        c.add("FETCh?", self._fetch, max_params=0)
        c.add("[SENSe:]FUNCtion[:ON]", self._set_function, max_params=1)
        c.add("[SENSe:]FUNCtion[:ON]?", lambda call: FUNCTIONS[self.function][0], max_params=0)

    def reset(self) -> None:
        self.function, self.range, self.autorange, self.initiated = "VOLT", 10.0, True, False

    def snapshot(self) -> dict[str, Any]:
        return {
            "kind": "dmm",
            "function": self.function,
            "range": "AUTO" if self.autorange else self.range,
            "test_point": self.test_point,
        }

    # -- physics -------------------------------------------------------------------
    def _true_value(self) -> float:
        tp = self.test_point
        if self.function == "RES":
            return OVERLOAD  # probes across a live point: no meaningful resistance, open input
        if tp is None or self.state is None:
            return 0.0
        volts = self.state.test_point_volts(tp)
        if self.function == "VOLT":
            return round(volts, 6)
        if self.function == "VOLT:AC":
            return 0.0021 if volts > 0 else 0.0  # ripple of a DC bus
        return 0.0  # current: the meter is not in series with anything

    def _reading(self) -> str:
        value = self._true_value()
        if value >= OVERLOAD:
            return format_nr3(OVERLOAD)
        ranges = FUNCTIONS[self.function][1]
        if self.autorange:
            self.range = next((r for r in ranges if abs(value) <= r * 1.2), ranges[-1])
        if abs(value) > self.range * 1.2:
            return format_nr3(OVERLOAD)
        return format_nr3(value)

    # -- handlers --------------------------------------------------------------------
    def _apply(self, func: str, params: tuple[str, ...]) -> None:
        _, ranges, default = FUNCTIONS[func]
        if params and params[0].strip().upper() in ("AUTO",):
            self.function, self.autorange = func, True
            return
        if params:
            value = parse_number(params[0], low=0.0, high=ranges[-1], default=default, unit=_unit(func))
            if len(params) > 1:  # resolution: accepted, not modelled
                parse_number(params[1], low=0.0, high=ranges[-1], default=0.0, unit=_unit(func))
            self.range = next(r for r in ranges if value <= r)
            self.function, self.autorange = func, False
        else:
            self.function, self.autorange, self.range = func, True, default
        self.initiated = False

    def _configure(self, func: str):
        def handler(call: Call) -> None:
            self._apply(func, call.params)

        return handler

    def _measure(self, func: str):
        def handler(call: Call) -> str:
            self._apply(func, call.params)
            return self._reading()

        return handler

    def _set_range(self, func: str):
        def handler(call: Call) -> None:
            if not call.params:
                raise ScpiError(-109)
            _, ranges, default = FUNCTIONS[func]
            value = parse_number(call.params[0], low=0.0, high=ranges[-1], default=default, unit=_unit(func))
            self.range = next(r for r in ranges if value <= r)
            if self.function == func:
                self.autorange = False

        return handler

    def _get_range(self, func: str):
        def handler(call: Call) -> str:
            _, ranges, _default = FUNCTIONS[func]
            if call.params:
                return format_nr3(parse_number(call.params[0], low=ranges[0], high=ranges[-1]))
            return format_nr3(self.range if self.function == func else FUNCTIONS[func][2])

        return handler

    def _set_auto(self, func: str):
        def handler(call: Call) -> None:
            if not call.params:
                raise ScpiError(-109)
            word = call.params[0].strip().upper()
            if word not in ("ON", "OFF", "1", "0", "ONCE"):
                raise ScpiError(-224)
            if self.function == func:
                self.autorange = word in ("ON", "1")

        return handler

    def _conf_query(self, call: Call) -> str:
        name = FUNCTIONS[self.function][0].strip('"')
        return f'"{name} {format_nr3(self.range)},{format_nr3(self.range * 3e-7)}"'

    def _initiate(self, call: Call) -> None:
        self.initiated = True

    def _fetch(self, call: Call) -> str:
        if not self.initiated:
            raise ScpiError(-230, "Data stale")
        return self._reading()

    def _set_function(self, call: Call) -> None:
        if not call.params:
            raise ScpiError(-109)
        word = call.params[0].strip().strip("\"'").upper()
        if word not in FUNC_NAMES:
            raise ScpiError(-224)
        self.function = FUNC_NAMES[word]
        self.range, self.autorange = FUNCTIONS[self.function][2], True


def _unit(func: str) -> str:
    return {"VOLT": "V", "VOLT:AC": "V", "CURR": "A", "RES": "OHM"}[func]


def build(ctx: SimContext, name: str) -> Dmm34465A:
    serial = instrument_serial(ctx, name, "MY59001234")
    return Dmm34465A(
        idn=f"Keysight Technologies,34465A,{serial},{FIRMWARE}",
        state=ctx.state,
        test_point=wired_test_point(ctx, name),
    )


def start(ctx: SimContext, name: str) -> SimHandle:
    dmm = build(ctx, name)
    return serve(ctx, name, dmm, lambda fault: electrical_fault(ctx, fault, dmm.test_point))
