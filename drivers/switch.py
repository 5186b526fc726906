"""The switch interface: what every switch driver offers, whatever its vendor.

Parsers (``drivers.eos_parse``, ``drivers.sonic_parse``) turn CLI output into
these frozen dataclasses and raise :class:`OutputFormatError` rather than guess;
drivers turn that into :class:`drivers.errors.ParseError` naming switch and command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class OutputFormatError(ValueError):
    """Output does not have the format the parser knows (a parse error, never a guess)."""


@dataclass(frozen=True)
class SwitchIdentity:
    model: str
    serial: str
    firmware: str


@dataclass(frozen=True)
class Interface:
    name: str
    admin_up: bool
    oper_up: bool
    speed_mbps: int | None  # None where the switch does not say


@dataclass(frozen=True)
class LldpNeighbor:
    local_port: str
    system_name: str
    port_id: str


@dataclass(frozen=True)
class ErrorCounters:
    """Cumulative error counters of one port; None where the switch does not report one."""

    port: str
    fcs_errors: int  # FCS/CRC errors on receive
    symbol_errors: int | None
    in_errors: int | None
    out_errors: int | None
    in_discards: int | None
    out_discards: int | None

    def delta(self, later: ErrorCounters) -> ErrorCounters:
        """Counts between this reading and a later one (a counter reset reads as the later value)."""

        def d(a: int | None, b: int | None) -> int | None:
            if a is None or b is None:
                return None
            return b - a if b >= a else b

        return ErrorCounters(
            port=self.port,
            fcs_errors=d(self.fcs_errors, later.fcs_errors) or 0,
            symbol_errors=d(self.symbol_errors, later.symbol_errors),
            in_errors=d(self.in_errors, later.in_errors),
            out_errors=d(self.out_errors, later.out_errors),
            in_discards=d(self.in_discards, later.in_discards),
            out_discards=d(self.out_discards, later.out_discards),
        )


@dataclass(frozen=True)
class LaneDom:
    lane: int  # 1-based
    tx_power_dbm: float | None
    rx_power_dbm: float | None
    tx_bias_ma: float | None


@dataclass(frozen=True)
class Transceiver:
    port: str
    media_type: str
    temperature_c: float | None
    lanes: tuple[LaneDom, ...]


@dataclass(frozen=True)
class SwitchSnapshot:
    """Everything the network suite needs from one switch, read once."""

    identity: SwitchIdentity
    interfaces: tuple[Interface, ...]
    neighbors: tuple[LldpNeighbor, ...]
    counters: tuple[ErrorCounters, ...]
    transceivers: tuple[Transceiver, ...]

    def interface(self, name: str) -> Interface | None:
        return next((i for i in self.interfaces if i.name == name), None)

    def neighbors_on(self, port: str) -> list[LldpNeighbor]:
        return [n for n in self.neighbors if n.local_port == port]

    def counters_of(self, port: str) -> ErrorCounters | None:
        return next((c for c in self.counters if c.port == port), None)

    def transceiver(self, port: str) -> Transceiver | None:
        return next((t for t in self.transceivers if t.port == port), None)


class Switch(Protocol):
    name: str

    def identity(self) -> SwitchIdentity: ...
    def interfaces(self) -> list[Interface]: ...
    def neighbors(self) -> list[LldpNeighbor]: ...
    def counters(self) -> list[ErrorCounters]: ...
    def transceivers(self) -> list[Transceiver]: ...
    def snapshot(self) -> SwitchSnapshot: ...
    def close(self) -> None: ...


def speed_mbps(text: str) -> int:
    """'100G' -> 100000, '1000M' -> 1000 (the unit letters switches print)."""
    text = text.strip()
    units = {"G": 1000, "M": 1, "T": 1_000_000}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise OutputFormatError(f"speed {text!r} is not <number>G/M")
    return int(text[:-1]) * units[text[-1]]
