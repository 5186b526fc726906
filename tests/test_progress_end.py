"""The end of a run on the screen: the banner says when the rack could not be put back."""

from __future__ import annotations

import io
from collections.abc import Generator

import pytest

from rackval.progress import Progress


def interrupted_finish() -> tuple[io.StringIO, Generator[None, None, None]]:
    """Progress's sessionfinish wrapper after Ctrl-C, driven as pluggy does, stopped at its yield."""
    out = io.StringIO()
    progress = Progress(out, mode="plain")
    progress.interrupted = True
    finish = progress.pytest_sessionfinish(None, 2)
    next(finish)  # here pytest's runner tears the interrupted test's fixtures down
    return out, finish


def finish_raising(exc: BaseException) -> str:
    """The screen after the wrapped teardown raised ``exc``."""
    out, finish = interrupted_finish()
    with pytest.raises(type(exc)):
        finish.throw(exc)
    return out.getvalue()


def test_a_restore_that_fails_after_an_interrupt_is_named_and_still_raised() -> None:
    text = finish_raising(pytest.fail.Exception("could not restore pdu-a outlet 5: timeout", pytrace=False))
    assert "INTERRUPTED" in text
    assert "NOT PUT BACK: could not restore pdu-a outlet 5: timeout" in text
    assert "rackval restore" in text


def test_a_second_ctrl_c_while_putting_back_is_named() -> None:
    text = finish_raising(KeyboardInterrupt())
    assert "NOT PUT BACK: interrupted again while the rack was being put back" in text


def test_a_clean_end_has_no_such_line() -> None:
    out, finish = interrupted_finish()
    with pytest.raises(StopIteration):
        finish.send(None)
    assert "INTERRUPTED" in out.getvalue() and "NOT PUT BACK" not in out.getvalue()
