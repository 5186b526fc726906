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
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
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
        # snapshots read ahead (read_ahead) and not used yet; background reads under way
        self._ahead: set[str] = set()
        self._pending: dict[str, Future[None]] = {}
        self._ahead_pool: ThreadPoolExecutor | None = None
        self._generation = 0  # bumped by every change: a read ahead started before it is not kept
        self._broken: dict[str, DeviceError] = {}
        self._lock = threading.RLock()
        self._on_close: list[Callable[[], object]] = []

    def on_close(self, stop: Callable[[], object]) -> None:
        """Call ``stop`` when the session closes, before the drivers close (newest first)."""
        self._on_close.append(stop)

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
        """The connected driver of device ``name`` (created on first use).

        Waits for the device's snapshot being read ahead, if any, so a test's own
        commands never interleave with that read.
        """
        self._wait_ahead((name,))
        error = self._broken.get(name)
        if error is not None:
            raise error
        return self.devices.driver(name)

    # -- snapshots -----------------------------------------------------------
    def _read_snapshot(self, name: str) -> Any:
        error = self._broken.get(name)
        if error is not None:
            return error
        try:
            return self.devices.driver(name).snapshot()
        except FATAL_DEVICE_ERRORS as exc:
            self.mark_broken(name, exc)
            return exc
        except DeviceError as exc:
            return exc

    def gather(self, kind: str) -> None:
        """Read the snapshot of every device of ``kind`` not read yet, concurrently."""
        self._wait_ahead(self.rack.devices_of(kind))
        names = [n for n in self.rack.devices_of(kind) if n not in self._snapshots]
        if not names:
            return
        with ThreadPoolExecutor(max_workers=min(32, len(names)), thread_name_prefix="gather") as pool:
            for name, result in zip(names, pool.map(self._read_snapshot, names), strict=True):
                with self._lock:
                    self._snapshots.setdefault(name, result)

    def read_ahead(self, devices: Iterable[str]) -> None:
        """Start reading the snapshots of ``devices`` in the background, in that order.

        For a read-only run: each test starts as soon as its own device is read,
        while the others are still being read. A snapshot read ahead is dropped by any change to the rack
        (:meth:`invalidate`) before its first use; whatever goes wrong reading
        ahead other than a device error is left to the read at first use.
        """
        names = [n for n in devices if n not in self._snapshots]
        if not names:
            return
        with self._lock:
            if self._ahead_pool is None:
                self._ahead_pool = ThreadPoolExecutor(
                    max_workers=min(8, len(names)), thread_name_prefix="read-ahead"
                )
            generation = self._generation
            for name in names:
                if name not in self._pending:
                    self._pending[name] = self._ahead_pool.submit(self._read_ahead_one, name, generation)

    def _read_ahead_one(self, name: str, generation: int) -> None:
        try:
            result = self._read_snapshot(name)
        except Exception:
            log.debug("%s: reading ahead failed; read again at first use", name, exc_info=True)
            return
        with self._lock:
            if generation == self._generation and name not in self._snapshots:
                self._snapshots[name] = result
                self._ahead.add(name)

    def _wait_ahead(self, names: Iterable[str]) -> None:
        """Wait for the background reads of ``names`` still under way, if any."""
        for name in names:
            future = self._pending.get(name)
            if future is not None:
                future.result()
                self._pending.pop(name, None)

    def snapshot(self, name: str) -> Any:
        """The session's snapshot of device ``name``; re-raises the error if reading it failed."""
        if name not in self._snapshots:
            self._wait_ahead((name,))
            if name not in self._snapshots:
                self.gather(self.rack.devices[name].kind)
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
            # read ahead and not used yet: it was read before this change, as it would not have been;
            # a read still under way may have read before it too, so its result is not kept
            for other in self._ahead:
                self._snapshots.pop(other, None)
            self._ahead.clear()
            self._generation += 1
            self._pending.clear()

    # -- teardown ------------------------------------------------------------
    def close(self) -> list[str]:
        """Put back what the run left changed, close every driver (instruments are left safe);
        the problems, never raises."""
        problems = []
        while self._on_close:
            stop = self._on_close.pop()
            try:
                stop()
            except Exception as exc:  # the drivers still close
                problems.append(f"could not stop {getattr(stop, '__qualname__', stop)}: {exc}")
        pool, self._ahead_pool = self._ahead_pool, None
        if pool is not None:  # reads not started are dropped; those under way end by their timeouts
            pool.shutdown(wait=True, cancel_futures=True)
        for problem in self.safe_state.restore_left():
            log.warning("%s (journaled: rackval restore puts it back)", problem)
            problems.append(problem)
        return problems + self.devices.close()
