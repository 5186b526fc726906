"""Group fsync of a SQLite write-ahead log: one fsync makes every commit before it durable.

Why: with ``synchronous=FULL`` every record of a run paid its own fsync (~0.6 ms
here, 2,516 items x ~4.7 records on the hall rack). The store now commits each
record with ``synchronous=NORMAL``: the commit has been *written* to the WAL
file when it returns (the kernel holds it; killing the run, even with SIGKILL,
loses nothing), but not yet *flushed* to the disk (a power cut could lose it).
This syncer flushes the WAL on its own thread after the commits it is told of
(:meth:`written`), having waited up to ``interval_s`` for more of them (by
default not at all: the results writer already gathers each batch for its own
interval, so its commits come apart), and :meth:`WalSync.sync` waits until every
commit made before the call is flushed. One fsync covers all commits queued
behind it: that is the group commit.

fsync acts on the file, not on the descriptor, so flushing the ``-wal`` file
through our own descriptor flushes the frames SQLite wrote through its own.
If the WAL file is gone, SQLite checkpointed it into the database file and
synced that (it does so before deleting the WAL, in every synchronous mode).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

# how long an unflushed commit may wait for the background fsync (a power cut can
# lose at most the commits of this window plus one fsync; the run reports none of them).
# Zero: the writer already gathers a batch's records for WRITE_INTERVAL_S before it
# commits, so commits come at most that often (or when someone syncs, and then the
# flush is wanted at once); one more wait here would only delay each flush and wake
# this thread once more per commit.
SYNC_INTERVAL_S = 0.0


def flush_wal(wal: Path) -> None:
    """fsync the WAL file ``wal``, if it is there (if not, SQLite checkpointed and synced it)."""
    try:
        fd = os.open(wal, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WalSync:
    """Flush ``<database>-wal`` for the commits :meth:`written` announces."""

    def __init__(self, database: Path, interval_s: float = SYNC_INTERVAL_S) -> None:
        self.wal = Path(f"{database}-wal")
        self.interval_s = interval_s
        self._cond = threading.Condition()
        self._written = 0  # commits made (sequence numbers)
        self._synced = 0  # commits known flushed
        self._wanted = False  # someone waits in sync(): flush now
        self._closed = False
        self._dir_synced = False
        self._error: OSError | None = None
        self.fsyncs = 0  # flushes done (for tests and the benchmark)
        self._thread = threading.Thread(target=self._loop, name="rackval-walsync", daemon=True)
        self._thread.start()

    @property
    def synced(self) -> int:
        return self._synced

    def written(self) -> int:
        """A commit has returned; returns its sequence number (flushed within ``interval_s``)."""
        with self._cond:
            self._written += 1
            self._cond.notify_all()
            return self._written

    def sync(self) -> None:
        """Return when every commit announced before this call is on the disk."""
        with self._cond:
            target = self._written
            while self._synced < target:
                if self._error is not None:
                    raise self._error
                if self._closed:
                    raise RuntimeError("results store closed before its records were flushed")
                self._wanted = True
                self._cond.notify_all()
                self._cond.wait()

    def close(self) -> None:
        """Flush what is left and stop the thread."""
        try:
            self.sync()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._synced >= self._written and not self._closed:
                    self._cond.wait()
                if self._closed and self._synced >= self._written:
                    return
                # let more commits gather behind this fsync, unless someone waits for it
                deadline = time.monotonic() + self.interval_s
                while not self._wanted and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                self._wanted = False
                target = self._written
            try:
                self._flush()
            except OSError as exc:
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self._synced = max(self._synced, target)
                self.fsyncs += 1
                self._cond.notify_all()

    def _flush(self) -> None:
        flush_wal(self.wal)
        if not self._dir_synced:  # the WAL file's own directory entry, once
            dfd = os.open(self.wal.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
            self._dir_synced = True
