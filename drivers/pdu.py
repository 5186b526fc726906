"""The PDU interface: what every PDU driver offers, whatever its vendor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from drivers.errors import DeviceError

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
    """Everything a non-destructive check needs, read once.

    A part the PDU answered with garbage is recorded in ``errors`` (keys
    ``identity``, ``outlets``, ``phases``, ``current/<n>``) instead of failing
    the whole snapshot, so only the checks that need that part fail; call
    :meth:`require` before using a part.
    """

    identity: PduIdentity | None
    outlets: tuple[OutletReading, ...]
    phases: tuple[PhaseReading, ...]
    errors: Mapping[str, DeviceError] = field(default_factory=dict)

    def require(self, *parts: str) -> None:
        for part in parts:
            if part in self.errors:
                raise self.errors[part]

    def outlet(self, index: int) -> OutletReading:
        self.require("outlets")
        for reading in self.outlets:
            if reading.index == index:
                return reading
        raise KeyError(f"outlet {index} is not in the PDU's outlet table")


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
