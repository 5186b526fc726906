"""Group commit of the results store's records, on a thread of its own.

Why: each record used to be its own transaction, executed and committed on the
test thread (~0.5 ms of SQLAlchemy per statement profiled, x ~4.7 records per
item on the hall rack). Here ``record_*`` only appends the row to a queue and
returns; one writer thread takes everything queued (after waiting at most
``interval_s`` for more to gather), inserts it with one ``executemany`` per
table inside one transaction, and commits. The per-statement cost is paid
once per batch instead of once per record.

What that changes, and what it does not:

- A record is *queued* when ``record_*`` returns, *committed* within
  ``interval_s`` (100 ms) plus one commit, and *flushed* (SQLite: by
  :class:`rackval.results.walsync.WalSync`) right after that commit.
- :meth:`Writer.sync` returns only when every record queued before the call
  is committed. The store's ``sync()`` then waits for the flush as well, and
  the run reports nothing (progress, FAIL lines, banner, its end, exports)
  before that: a SIGKILL can lose only records that were queued and not yet
  reported, never one that was.
- An error in the writer (database gone, disk full, an integrity error) is
  kept and raised by the next :meth:`put` or :meth:`sync` (and by
  :meth:`close` if no one was told yet), with how many records were not
  stored. The failed batch is rolled back and nothing more is accepted: no
  record is dropped without someone being told.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

# how long the writer waits for more records to join a batch after the first one
# (unless someone waits in sync()): the bound on how long a record stays only queued.
# Why not a few milliseconds: every time the writer wakes, and every time it comes
# back from the database driver, it needs the GIL from the test thread, which computes
# (issue #14). Each batch costs the tests the same few hand-overs however many rows it
# holds, so fewer, larger batches cost them less: at 3 ms the hall rack's tests ran
# ~0.3-0.6 s slower (benchmarks/README.md). Under that load a record stayed queued
# ~100 ms anyway, and a display asking for a sync (every 100 ms) still gets one at once.
WRITE_INTERVAL_S = 0.1
# how long close() waits for the writer to commit what is left (a database that stopped
# answering must not hold the run's exit for ever; the store then says what may be lost)
CLOSE_TIMEOUT_S = 60.0

# a queued row: (table name, values in that table's column order, rackval.results.database)
Row = tuple[str, tuple[Any, ...]]


class StoreError(Exception):
    """The store cannot be opened, a run asked for does not exist, or records could not be stored.

    (Defined here, not in :mod:`rackval.results.store`, so that the writer's
    failure is one; ``rackval.results.store.StoreError`` is this class.)
    """


class WriterError(StoreError):
    """The writer could not store records; the message names the store and how many."""


class RemoteError(Exception):
    """A batch failed where it was committed, in another process: that error's type name and first line."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind


class _Mark:
    """Put in the queue by :meth:`Writer.sync`: done once every row before it is committed."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = False


class Writer:
    """Queue rows; a background thread commits them in batches through ``commit``.

    ``commit(rows)`` inserts the rows in one transaction and commits (it runs on
    the writer thread only); ``name`` names the store in error messages.

    :meth:`put` takes no lock: it appends to a deque (atomic) and takes the
    condition only to wake an idle writer. (With a lock per row the test thread
    waited for the writer thread, which holds it around each batch's hand-over,
    ~0.06 ms/item profiled on the hall rack.) :meth:`sync` queues a mark behind
    the rows and waits until the batch holding it is committed.
    """

    def __init__(
        self,
        commit: Callable[[list[Row]], None],
        name: str,
        interval_s: float | None = None,
        close_timeout_s: float = CLOSE_TIMEOUT_S,
    ) -> None:
        self._commit = commit
        self.name = name
        self.interval_s = WRITE_INTERVAL_S if interval_s is None else interval_s
        self.close_timeout_s = close_timeout_s
        self._cond = threading.Condition()
        self._queue: deque[Row | _Mark] = deque()
        self._committed = 0  # rows committed (always a prefix of what was queued)
        self._busy = False  # the thread holds a batch it took and has not committed yet
        self._in_flight = 0  # rows in that batch
        self._idle = False  # the thread waits for a first row: wake it on put
        self._wanted = False  # someone waits in sync(): commit now
        self._closed = False
        self._error: WriterError | None = None
        self._told = False  # the error has been raised to a caller
        self.commits = 0  # transactions committed (for tests and the benchmark)
        self._thread = threading.Thread(target=self._loop, name="rackval-writer", daemon=True)
        self._thread.start()

    @property
    def committed(self) -> int:
        return self._committed

    @property
    def error(self) -> WriterError | None:
        return self._error

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            self._told = True
            raise self._error

    def put(self, table: Any, params: Any) -> None:
        """Queue one row for ``table``; raises if the writer has failed or is closed."""
        if self._error is not None:
            with self._cond:
                self._raise_if_failed()
        if self._closed:
            raise WriterError(f"results store {self.name}: closed, record not stored")
        self._queue.append((table, params))
        # the thread sets _idle before it looks at the queue a last time: either it
        # sees this row or this sees _idle (no wake-up is lost)
        if self._idle:
            with self._cond:
                self._idle = False
                self._cond.notify_all()

    def sync(self) -> None:
        """Return when every row queued before this call is committed."""
        with self._cond:
            self._raise_if_failed()
            if not self._queue and not self._busy:
                return  # everything taken is committed
            mark = _Mark()
            self._queue.append(mark)
            self._wanted = True
            self._idle = False
            self._cond.notify_all()
            while not mark.done:
                self._raise_if_failed()
                self._cond.wait()
            self._raise_if_failed()

    def close(self) -> None:
        """Commit what is queued and stop the thread; raise a failure no caller was told of.

        Waits at most ``close_timeout_s`` for the last commits; if the database has not
        answered by then, raises a :class:`WriterError` saying how many records may be lost.
        """
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(self.close_timeout_s)
        if self._thread.is_alive():
            with self._cond:
                left = self._in_flight + self._queued_rows()
                if self._error is None:
                    self._error = WriterError(
                        f"results store {self.name}: no answer from the database within "
                        f"{self.close_timeout_s:g} s while closing; {left} record(s) may not be stored"
                    )
                self._raise_if_failed()
        left = self._queued_rows()
        if left and self._error is None:  # put while closing, after the last batch
            self._error = WriterError(
                f"results store {self.name}: {left} record(s) queued while it closed were not stored"
            )
        if self._error is not None and not self._told:
            self._raise_if_failed()

    def _queued_rows(self) -> int:
        return sum(1 for r in self._queue if not isinstance(r, _Mark))

    def _take(self) -> tuple[list[Row], list[_Mark]]:
        rows: list[Row] = []
        marks: list[_Mark] = []
        queue = self._queue
        while queue:
            row = queue.popleft()
            if row.__class__ is _Mark:
                marks.append(row)  # type: ignore[arg-type]
            else:
                rows.append(row)  # type: ignore[arg-type]
        return rows, marks

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._idle = True
                    if self._queue:  # a put that did not see _idle yet
                        break
                    self._cond.wait(0.1)
                self._idle = False
                if not self._queue:
                    return  # closed, everything committed
                # let more rows gather behind the first, unless someone waits for them
                deadline = time.monotonic() + self.interval_s
                while not self._wanted and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                self._wanted = False
                batch, marks = self._take()
                self._busy = True
                self._in_flight = len(batch)
            try:
                if batch:
                    self._commit(batch)
            except Exception as exc:
                with self._cond:
                    lost = len(batch) + self._queued_rows()
                    self._queue.clear()
                    self._busy = False
                    self._in_flight = 0
                    self._error = WriterError(
                        f"results store {self.name}: could not store {lost} record(s) "
                        f"({describe(exc)}); the run's results are incomplete"
                    )
                    self._error.__cause__ = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self._committed += len(batch)
                self._busy = False
                self._in_flight = 0
                if batch:
                    self.commits += 1
                for mark in marks:
                    mark.done = True
                self._cond.notify_all()


def describe(exc: BaseException) -> str:
    """``type: first line`` of an error, the type being the remote one for a :class:`RemoteError`."""
    kind = exc.kind if isinstance(exc, RemoteError) else type(exc).__name__
    return f"{kind}: {first_line(exc)}"


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's exception
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else "no message"
