"""Keysight EL34143A DC electronic load (EL30000 series SCPI dialect)."""

from __future__ import annotations

from typing import Any

from drivers.scpi import ScpiInstrument, format_value


class KeysightEL34143A(ScpiInstrument):
    kind = "eload"
    model = "EL34143A"
    SAFE_COMMANDS = ("INP OFF", "CURR 0")

    def set_constant_current(self, amps: float) -> None:
        """Constant-current mode at ``amps`` (``FUNC CURR``; ``CURR``)."""
        self.send("FUNC CURR", f"CURR {format_value(amps)}")

    def input(self, on: bool) -> None:
        self.send(f"INP {'ON' if on else 'OFF'}")

    def input_on(self) -> bool:
        return self.ask_bool("INP?")

    def measure_voltage(self) -> float:
        return self.ask_float("MEAS:VOLT?")

    def measure_current(self) -> float:
        return self.ask_float("MEAS:CURR?")

    def measure_power(self) -> float:
        return self.ask_float("MEAS:POW?")

    def snapshot(self) -> dict[str, Any]:
        return {
            "identity": self.identity(),
            "input_on": self.input_on(),
            "function": self.ask("FUNC?"),
            "current_set": self.ask_float("CURR?"),
        }
