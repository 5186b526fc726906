"""Work on several devices at once, on threads that never outlive the call, even on Ctrl-C.

Why not a bare ``ThreadPoolExecutor``: ``submit`` starts a thread and waits for it
to run. A Ctrl-C (or SIGTERM, which rackval turns into the same interrupt) that
lands in that wait leaves the thread running but unknown to the pool, so the
pool's ``shutdown(wait=True)`` returns without it. The session then closed
under a worker that was about to switch an outlet, and the interpreter waited
for it at exit for ever (seen in CI: ``test_interrupt_restores_and_exits_130``).
:func:`each_in_parallel` holds the interrupt while it starts the threads and
raises it once every thread started has returned.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then deliver the first one as usual.

    Only the main thread receives Python's signal handlers, so elsewhere (and
    where a handler was installed outside Python and cannot be put back) this
    holds nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = [(signum, signal.getsignal(signum)) for signum in HELD_SIGNALS]
    if any(handler is None for _, handler in previous):
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        caught.append(signum)

    for signum, _ in previous:
        signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in previous:
            signal.signal(signum, handler)
        if caught:
            signal.raise_signal(caught[0])  # its own handler runs now (KeyboardInterrupt under rackval)


def each_in_parallel(
    work: Callable[[T], object],
    items: Iterable[T],
    name: str,
    *,
    max_workers: int | None = None,
    interrupted: threading.Event | None = None,
) -> None:
    """Call ``work(item)`` for every item, on up to ``max_workers`` threads; return when all have.

    On an interrupt (KeyboardInterrupt, SIGTERM under rackval) or the first error
    of a ``work`` call, ``interrupted`` is set (so that ``work`` can stop between
    steps), items not begun are dropped, and the interrupt or error is raised
    once the calls under way have returned: a worker that changed the rack
    restores it before the session closes.
    """
    todo = list(items)
    if not todo:
        return
    pool = ThreadPoolExecutor(max_workers=max_workers or len(todo), thread_name_prefix=name)
    try:
        with interrupts_held():
            futures = [pool.submit(work, item) for item in todo]
        for future in futures:
            future.result()
    except BaseException:
        if interrupted is not None:
            interrupted.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
