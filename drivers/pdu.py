"""The PDU interface: what every PDU driver offers, whatever its vendor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

OutletState = Literal["on", "off"]
OutletAction = Literal["on", "off", "cycle"]


@dataclass(frozen=True)
class PduIdentity:
    name: str
    model: str
    serial: str
    firmware: str
    outlet_count: int
    phase_count: int


@dataclass(frozen=True)
class OutletReading:
    index: int  # 1-based, as printed on the PDU
    name: str
    state: OutletState
    current_a: float | None  # None where the PDU does not meter per outlet
    phase: str | None  # "L1", "L2", "L3" where the PDU says


@dataclass(frozen=True)
class PhaseReading:
    phase: str  # "L1", "L2", "L3"
    voltage_v: float
    current_a: float
    power_w: float | None


@dataclass(frozen=True)
class PduSnapshot:
    """Everything a non-destructive check needs, read once."""

    identity: PduIdentity
    outlets: tuple[OutletReading, ...]
    phases: tuple[PhaseReading, ...]


class Pdu(Protocol):
    """Synchronous facade; each method has an ``a``-prefixed coroutine twin."""

    name: str

    def identity(self) -> PduIdentity: ...
    def outlets(self) -> list[OutletReading]: ...
    def outlet(self, index: int) -> OutletReading: ...
    def phases(self) -> list[PhaseReading]: ...
    def snapshot(self) -> PduSnapshot: ...
    def set_outlet(self, index: int, action: OutletAction) -> None: ...
    def close(self) -> None: ...

    async def aidentity(self) -> PduIdentity: ...
    async def aoutlets(self) -> list[OutletReading]: ...
    async def aoutlet(self, index: int) -> OutletReading: ...
    async def aphases(self) -> list[PhaseReading]: ...
    async def asnapshot(self) -> PduSnapshot: ...
    async def aset_outlet(self, index: int, action: OutletAction) -> None: ...
