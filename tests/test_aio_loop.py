"""drivers.aio.LoopThread: no caller waits for ever on a loop that has closed."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any

import pytest

from drivers.aio import LoopClosedError, LoopThread


def call_in_thread(loop: LoopThread, coro: Any) -> tuple[threading.Thread, list[Any]]:
    got: list[Any] = []

    def call() -> None:
        try:
            got.append(loop.run(coro))
        except BaseException as exc:
            got.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    return thread, got


def test_a_call_under_way_that_ends_within_the_grace_gets_its_result() -> None:
    loop = LoopThread("test-grace")
    thread, got = call_in_thread(loop, asyncio.sleep(0.3, result=7))
    time.sleep(0.05)
    loop.close(grace_s=5)
    thread.join(5)
    assert got == [7]


def test_a_call_still_waiting_after_the_grace_fails_naming_the_loop() -> None:
    loop = LoopThread("test-stuck")
    thread, got = call_in_thread(loop, asyncio.sleep(60))
    time.sleep(0.05)
    loop.close(grace_s=0.2)
    thread.join(10)
    assert not thread.is_alive()
    assert len(got) == 1 and isinstance(got[0], LoopClosedError)
    assert "test-stuck" in str(got[0]) and "closed before this call finished" in str(got[0])


def test_a_call_after_close_fails_at_once_and_its_coroutine_is_closed() -> None:
    loop = LoopThread("test-closed")
    loop.close()
    coro = asyncio.sleep(60)
    with pytest.raises(LoopClosedError, match="test-closed: the drivers' event loop is closed"):
        loop.run(coro)
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
