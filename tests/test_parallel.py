"""rackval.parallel: worker threads that never outlive the call, even when Ctrl-C lands while they start."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from rackval.parallel import each_in_parallel, interrupts_held


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in the main thread (as in rackval), whatever the runner set."""
    if threading.current_thread() is not threading.main_thread():
        pytest.fail("these tests send themselves SIGINT: they must run on the main thread")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def alive(prefix: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]


def test_ctrl_c_held_by_the_block_is_raised_when_it_ends(ctrl_c_raises: None) -> None:
    reached = False
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)  # a signal not held would have raised here
        reached = True
    assert reached
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_interrupt_while_the_threads_start_waits_for_every_started_worker(
    ctrl_c_raises: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CI hang: Ctrl-C inside ``Thread.start``, after the thread runs but before its pool knows it."""
    started, finished = [], []
    start = threading.Thread.start

    def start_then_ctrl_c(thread: threading.Thread) -> None:
        start(thread)
        if thread.name.startswith("held_") and len(alive("held_")) == 2:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(threading.Thread, "start", start_then_ctrl_c)

    def work(item: int) -> None:
        # e.g. an outlet switched off, observed, and back on; the first to start is the quickest
        delay = 0.5 if started else 0.1
        started.append(item)
        time.sleep(delay)
        finished.append(item)

    with pytest.raises(KeyboardInterrupt):
        each_in_parallel(work, range(4), "held")
    assert alive("held_") == []
    assert sorted(finished) == sorted(started) and len(started) >= 2


def test_interrupt_while_working_stops_between_steps_and_drops_items_not_begun(ctrl_c_raises: None) -> None:
    interrupted = threading.Event()
    begun, done = [], []

    def work(item: int) -> None:
        begun.append(item)
        if item == 0:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C at the terminal, while the first item runs
        for _ in range(3):
            time.sleep(0.1)
            if interrupted.is_set():
                break
        done.append(item)

    with pytest.raises(KeyboardInterrupt):
        each_in_parallel(work, range(20), "stops", max_workers=2, interrupted=interrupted)
    assert interrupted.is_set()
    assert alive("stops_") == []
    assert sorted(done) == sorted(begun)
    assert len(begun) < 20


def test_the_first_error_is_raised_once_every_call_has_returned() -> None:
    done = []

    def work(item: int) -> None:
        if item == 1:
            raise ValueError("tray 1 answered garbage")
        time.sleep(0.2)
        done.append(item)

    with pytest.raises(ValueError, match="tray 1"):
        each_in_parallel(work, range(3), "errors")
    assert sorted(done) == [0, 2]
    assert alive("errors_") == []


def test_outside_the_main_thread_nothing_is_held() -> None:
    seen: list[object] = []

    def elsewhere() -> None:
        with interrupts_held():
            seen.append(signal.getsignal(signal.SIGINT))

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert seen == [before]
