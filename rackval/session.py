"""The rack under test for one pytest session: drivers, snapshots, journal.

Drivers are connected lazily, once per device, and reused for the session.
Read-only checks share *snapshots*: everything a device reports, read once per
session and concurrently across devices, then asserted item by item.
A device that failed to answer is remembered, so its other tests fail at once
with the same cause instead of each waiting out a timeout.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from drivers.aio import LoopThread
from drivers.errors import DeviceAuthError, DeviceError, DeviceTimeout, DeviceUnreachable
from rackval.devices import DeviceRegistry, Overlay
from rackval.journal import Journal
from rackval.model import Rack
from rackval.safestate import SafeState

log = logging.getLogger("rackval")

# errors that mean "this device cannot be talked to at all this session"
FATAL_DEVICE_ERRORS = (DeviceTimeout, DeviceUnreachable, DeviceAuthError)


class RackSession:
    """The rack under test for one session: its device registry, snapshots and safe state."""

    def __init__(
        self,
        rack: Rack,
        overlay: Overlay | None = None,
        journal_path: Path | None = None,
        station: Any = None,
    ):
        self.rack = rack
        self.devices = DeviceRegistry(rack, station, overlay)
        self.journal = Journal(journal_path) if journal_path else None
        self.safe_state = SafeState(self.devices, self.journal, changed=self.invalidate)
        self._snapshots: dict[str, Any] = {}
        self._broken: dict[str, DeviceError] = {}
        self._lock = threading.RLock()

    @property
    def overlay(self) -> Overlay:
        return self.devices.overlay

    @property
    def loop(self) -> LoopThread:
        return self.devices.loop

    def broken(self, name: str) -> DeviceError | None:
        """The error that made ``name`` unusable this session, if any."""
        return self._broken.get(name)

    def mark_broken(self, name: str, error: DeviceError) -> None:
        with self._lock:
            self._broken.setdefault(name, error)

    def driver(self, name: str) -> Any:
        """The connected driver of device ``name`` (created on first use)."""
        error = self._broken.get(name)
        if error is not None:
            raise error
        return self.devices.driver(name)

    # -- snapshots -----------------------------------------------------------
    def _read_snapshot(self, name: str) -> Any:
        try:
            return self.driver(name).snapshot()
        except FATAL_DEVICE_ERRORS as exc:
            self.mark_broken(name, exc)
            return exc
        except DeviceError as exc:
            return exc

    def gather(self, kind: str) -> None:
        """Read the snapshot of every device of ``kind`` not read yet, concurrently."""
        names = [n for n in self.rack.devices_of(kind) if n not in self._snapshots]
        if not names:
            return
        with ThreadPoolExecutor(max_workers=min(32, len(names)), thread_name_prefix="gather") as pool:
            for name, result in zip(names, pool.map(self._read_snapshot, names), strict=True):
                with self._lock:
                    self._snapshots.setdefault(name, result)

    def snapshot(self, name: str) -> Any:
        """The session's snapshot of device ``name``; re-raises the error if reading it failed."""
        if name not in self._snapshots:
            self.gather(self.rack.devices[name].kind)
        result = self._snapshots[name]
        if isinstance(result, BaseException):
            # a fresh traceback each time: re-raising one exception object makes its
            # traceback (and pytest's report of it) grow with every test that hits it
            raise result.with_traceback(None)
        return result

    def invalidate(self, name: str) -> None:
        """Forget a snapshot (after a state change a later test must not see stale)."""
        with self._lock:
            self._snapshots.pop(name, None)

    # -- teardown ------------------------------------------------------------
    def close(self) -> list[str]:
        """Close every driver (instruments are left safe); the problems, never raises."""
        return self.devices.close()
