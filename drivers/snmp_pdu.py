"""What every SNMP PDU driver shares, whatever its vendor's MIB.

A vendor driver (``drivers.apc``, ``drivers.raritan``) says how to read its
MIB: the coroutines ``aidentity``, ``aoutlets(cell_errors)``, ``aoutlet``,
``aphases`` and ``aset_outlet``. :class:`SnmpPdu` adds what is the same for
every vendor: one :class:`~drivers.snmp.SnmpClient` per PDU (its engine shared on the loop), the snapshot
that reads the three parts at once and keeps a broken part's error for that
part, and the synchronous facade of :class:`drivers.pdu.Pdu` over the
driver layer's event-loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod

from drivers.aio import LoopClosedError, LoopThread
from drivers.base import Target
from drivers.errors import DeviceError, DeviceProtocolError, DeviceReportedError
from drivers.pdu import OutletAction, OutletReading, PduIdentity, PduSnapshot, PhaseReading
from drivers.snmp import SnmpClient


class SnmpPdu(ABC):
    """Base of the SNMP PDU drivers: snapshot and sync facade over the vendor's coroutines."""

    def __init__(self, target: Target, loop: LoopThread) -> None:
        self.name = target.name
        self.target = target
        self._loop = loop
        self._snmp = SnmpClient(target, loop)

    # -- the vendor's part: a driver missing one of these fails at construction --
    @abstractmethod
    async def aidentity(self) -> PduIdentity:
        """Model, serial, firmware, outlet and phase counts."""

    @abstractmethod
    async def aoutlets(self, cell_errors: dict[str, DeviceError] | None = None) -> list[OutletReading]:
        """Every outlet; with ``cell_errors``, an unreadable cell is kept there and read as None."""

    @abstractmethod
    async def aoutlet(self, index: int) -> OutletReading:
        """One outlet."""

    @abstractmethod
    async def aphases(self) -> list[PhaseReading]:
        """Current, voltage and power per phase."""

    @abstractmethod
    async def aset_outlet(self, index: int, action: OutletAction) -> None:
        """Switch outlet ``index`` on, off or cycle it."""

    # -- shared ---------------------------------------------------------------
    async def asnapshot(self) -> PduSnapshot:
        """Identity, outlets and phases read concurrently.

        A timeout or authentication failure fails the snapshot (the device is
        unusable); garbage in one part is kept in ``errors`` for that part only.
        """
        errors: dict[str, DeviceError] = {}
        results = await asyncio.gather(
            self.aidentity(), self.aoutlets(errors), self.aphases(), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException) and not isinstance(
                result, DeviceProtocolError | DeviceReportedError
            ):
                raise result
        identity, outlets, phases = (None if isinstance(r, BaseException) else r for r in results)
        for part, result in zip(("identity", "outlets", "phases"), results, strict=True):
            if isinstance(result, BaseException):
                errors[part] = result
        return PduSnapshot(
            identity=identity,
            outlets=tuple(outlets or ()),
            phases=tuple(phases or ()),
            errors=errors,
        )

    # -- sync facade ---------------------------------------------------------
    def identity(self) -> PduIdentity:
        return self._loop.run(self.aidentity())

    def outlets(self) -> list[OutletReading]:
        return self._loop.run(self.aoutlets())

    def outlet(self, index: int) -> OutletReading:
        return self._loop.run(self.aoutlet(index))

    def phases(self) -> list[PhaseReading]:
        return self._loop.run(self.aphases())

    def snapshot(self) -> PduSnapshot:
        return self._loop.run(self.asnapshot())

    def set_outlet(self, index: int, action: OutletAction) -> None:
        self._loop.run(self.aset_outlet(index, action))

    def close(self) -> None:
        async def close() -> None:
            self._snmp.close()

        with contextlib.suppress(LoopClosedError):  # the loop closed first: it released the engine
            self._loop.run(close())
