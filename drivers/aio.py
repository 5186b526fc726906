"""One asyncio event loop in a background thread, for synchronous callers.

pysnmp 7 is asyncio-only while pytest tests are synchronous. The plugin owns
one :class:`LoopThread` per session; drivers submit coroutines to it, so every
SNMP engine and transport lives on that one loop.

A caller never waits on a loop that has stopped: :meth:`LoopThread.close` gives
the calls under way a moment to finish, then fails those still waiting with
:class:`LoopClosedError`, and a call made after it fails at once. (A thread that
outlived its session, e.g. one started just as Ctrl-C arrived, once waited there
for ever, and the interpreter waited for that thread at exit.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

# how long close() lets calls under way finish (each is bounded by its own driver's timeout)
CLOSE_GRACE_S = 5.0


class LoopClosedError(RuntimeError):
    """A call was made on, or was still waiting for, a loop that has been closed."""


class LoopThread:
    def __init__(self, name: str = "rackval-loop") -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        # what drivers on this loop share (key -> (value, close)); touched on the loop only
        self._shared: dict[Hashable, tuple[Any, Callable[[Any], None]]] = {}
        self._lock = threading.Lock()
        self._closing = False
        self._waiting: set[concurrent.futures.Future[Any]] = set()  # calls under way
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (re-raising its error)."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("LoopThread.run called from the loop's own thread")
        with self._lock:
            if self._closing:
                coro.close()
                raise LoopClosedError(f"{self.name}: the drivers' event loop is closed (its session ended)")
            future = asyncio.run_coroutine_threadsafe(coro, self.loop)
            self._waiting.add(future)
        try:
            return future.result(timeout)
        finally:
            with self._lock:
                self._waiting.discard(future)

    def shared(self, key: Hashable, make: Callable[[], T], close: Callable[[T], None]) -> T:
        """The one ``make()`` for ``key`` that every driver on this loop uses; closed with the loop.

        Call on the loop (from a coroutine). ``close`` runs on the loop when it closes.
        """
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = (make(), close)
        return found[0]

    def _close_shared(self) -> None:
        shared, self._shared = list(self._shared.values()), {}
        for value, close in shared:
            with contextlib.suppress(Exception):  # closing the rest matters more
                close(value)

    def close(self, grace_s: float = CLOSE_GRACE_S) -> None:
        """Stop the loop: calls under way get ``grace_s`` to finish, then fail; later calls fail at once."""
        with self._lock:
            self._closing = True
            waiting = list(self._waiting)
        if self.loop.is_closed():
            return
        if waiting and self._thread.is_alive():
            concurrent.futures.wait(waiting, timeout=grace_s)
        if self._shared and self._thread.is_alive():

            async def close_shared() -> None:
                self._close_shared()

            with contextlib.suppress(Exception):  # a stuck loop: closed with it below
                asyncio.run_coroutine_threadsafe(close_shared(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        with self._lock:
            left, self._waiting = list(self._waiting), set()
        for future in left:  # their coroutines will never run on: wake whoever waits for them
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                future.set_exception(
                    LoopClosedError(f"{self.name}: the drivers' event loop closed before this call finished")
                )
        if not self._thread.is_alive():
            self.loop.close()

    def __enter__(self) -> LoopThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
