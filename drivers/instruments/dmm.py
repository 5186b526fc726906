"""Keysight 34465A digital multimeter (Truevolt SCPI dialect)."""

from __future__ import annotations

from typing import Any, Literal

from drivers.scpi import ScpiInstrument, format_value

Function = Literal["VOLT:DC", "VOLT:AC", "CURR:DC", "RES"]


class Keysight34465A(ScpiInstrument):
    kind = "dmm"
    model = "34465A"
    # a DMM has no output; its safe state is DC volts, autorange (never left on amps)
    SAFE_COMMANDS = ("CONF:VOLT:DC AUTO",)

    def configure(self, function: Function, range_: float | None = None) -> None:
        """``CONF:<function> [range|AUTO]``."""
        self.send(f"CONF:{function} {format_value(range_) if range_ else 'AUTO'}")

    def read(self) -> float:
        """``READ?``: one reading of the configured function (inf on overload)."""
        return self.ask_float("READ?")

    def _measure(self, function: Function, range_: float | None) -> float:
        conf = f"CONF:{function} {format_value(range_) if range_ else 'AUTO'}"
        return self.ask_float("READ?", conf)

    def measure_dc_volts(self, range_v: float | None = None) -> float:
        return self._measure("VOLT:DC", range_v)

    def measure_ac_volts(self, range_v: float | None = None) -> float:
        return self._measure("VOLT:AC", range_v)

    def measure_dc_current(self, range_a: float | None = None) -> float:
        return self._measure("CURR:DC", range_a)

    def measure_resistance(self, range_ohm: float | None = None) -> float:
        return self._measure("RES", range_ohm)

    def snapshot(self) -> dict[str, Any]:
        return {"identity": self.identity(), "configuration": self.ask("CONF?").strip('"')}
