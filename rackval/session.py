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


_NOT_READ = object()


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
        # device kinds whose snapshots are read together with the first one asked for
        # (set by the plugin for read-only runs); read ahead of their first use, until used
        self.prefetch: set[str] = set()
        self._ahead: set[str] = set()
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

    def gather(self, kind: str, *ahead: str) -> None:
        """Read the snapshot of every device of ``kind`` not read yet, concurrently.

        Devices of the ``ahead`` kinds are read in the same pool, concurrently with
        them (their first use then finds them read); such a snapshot is dropped by
        any change to the rack (:meth:`invalidate`) before that first use.
        """
        names = [n for n in self.rack.devices_of(kind) if n not in self._snapshots]
        early = [
            n
            for k in ahead
            if k != kind
            for n in self.rack.devices_of(k)
            if n not in self._snapshots and n not in names
        ]
        if not names and not early:
            return
        every = names + early

        def read(name: str) -> Any:
            if name in names:
                return self._read_snapshot(name)
            try:  # read ahead: whatever goes wrong is left to the read at its first use
                return self._read_snapshot(name)
            except Exception:
                return _NOT_READ

        with ThreadPoolExecutor(max_workers=min(32, len(every)), thread_name_prefix="gather") as pool:
            for name, result in zip(every, pool.map(read, every), strict=True):
                with self._lock:
                    if name not in self._snapshots and result is not _NOT_READ:
                        self._snapshots[name] = result
                        if name in early:
                            self._ahead.add(name)

    def snapshot(self, name: str) -> Any:
        """The session's snapshot of device ``name``; re-raises the error if reading it failed."""
        if name not in self._snapshots:
            self.gather(self.rack.devices[name].kind, *sorted(self.prefetch))
        if self._ahead:
            with self._lock:
                self._ahead.discard(name)
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
            # read ahead and not used yet: it was read before this change, as it would not have been
            for other in self._ahead:
                self._snapshots.pop(other, None)
            self._ahead.clear()

    # -- teardown ------------------------------------------------------------
    def close(self) -> list[str]:
        """Close every driver (instruments are left safe); the problems, never raises."""
        return self.devices.close()
