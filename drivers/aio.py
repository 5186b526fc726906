"""One asyncio event loop in a background thread, for synchronous callers.

pysnmp 7 is asyncio-only while pytest tests are synchronous. The plugin owns
one :class:`LoopThread` per session; drivers submit coroutines to it, so every
SNMP engine and transport lives on that one loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str = "rackval-loop") -> None:
        self.loop = asyncio.new_event_loop()
        # what drivers on this loop share (key -> (value, close)); touched on the loop only
        self._shared: dict[Hashable, tuple[Any, Callable[[Any], None]]] = {}
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (re-raising its error)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("LoopThread.run called from the loop's own thread")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

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

    def close(self) -> None:
        if self.loop.is_closed():
            return
        if self._shared and self._thread.is_alive():

            async def close_shared() -> None:
                self._close_shared()

            with contextlib.suppress(Exception):  # a stuck loop: closed with it below
                self.run(close_shared(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()

    def __enter__(self) -> LoopThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
