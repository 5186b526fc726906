"""Keysight E36103B programmable DC power supply (E36100 series SCPI dialect)."""

from __future__ import annotations

from typing import Any

from drivers.scpi import ScpiInstrument, format_value


class KeysightE36103B(ScpiInstrument):
    kind = "supply"
    model = "E36103B"
    SAFE_COMMANDS = ("OUTP OFF", "VOLT 0")

    def set_voltage(self, volts: float) -> None:
        self.send(f"VOLT {format_value(volts)}")

    def set_current_limit(self, amps: float) -> None:
        self.send(f"CURR {format_value(amps)}")

    def set_ovp(self, volts: float) -> None:
        """Over-voltage protection level (``VOLT:PROT``)."""
        self.send(f"VOLT:PROT {format_value(volts)}")

    def output(self, on: bool) -> None:
        self.send(f"OUTP {'ON' if on else 'OFF'}")

    def output_on(self) -> bool:
        return self.ask_bool("OUTP?")

    def measure_voltage(self) -> float:
        return self.ask_float("MEAS:VOLT?")

    def measure_current(self) -> float:
        return self.ask_float("MEAS:CURR?")

    def ovp_tripped(self) -> bool:
        return self.ask_bool("VOLT:PROT:TRIP?")

    def clear_protection(self) -> None:
        self.send("OUTP:PROT:CLE")

    def settings(self) -> dict[str, float]:
        return {
            "voltage": self.ask_float("VOLT?"),
            "current_limit": self.ask_float("CURR?"),
            "ovp": self.ask_float("VOLT:PROT?"),
        }

    def snapshot(self) -> dict[str, Any]:
        return {"identity": self.identity(), "output_on": self.output_on(), **self.settings()}
