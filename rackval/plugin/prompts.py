"""pytest plugin: the ``operator`` fixture (manual steps), answered from ``--answers`` FILE.

Prompts work while pytest captures output: asking suspends pytest's capture
(stdin included, as pytest's own debugger does) and pauses rackval's live
display, then resumes both. A run is interactive when stdin is a terminal and
``RACKVAL_NON_INTERACTIVE`` is not set; otherwise a prompt without an answer in
the answers file fails its test at once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import pytest

from rackval.errors import ConfigError
from rackval.plugin import run_state
from rackval.prompts import (
    Answers,
    NotInteractive,
    Operator,
    PromptError,
    channel_from_env,
    env_non_interactive,
    load_answers,
    terminal_ask,
)

ANSWERS = pytest.StashKey[Answers | None]()
PROGRESS_PLUGIN = "rackval-progress"  # rackval.progress registers itself under this name


@pytest.hookimpl(trylast=True)  # after rackval's core plugin has built the run configuration
def pytest_configure(config: pytest.Config) -> None:
    state = run_state(config)
    path = state.config.answers if state is not None else None
    try:
        config.stash[ANSWERS] = load_answers(path) if path else None
    except ConfigError as exc:
        raise pytest.UsageError(f"--answers: {exc}") from None


@contextmanager
def _suspended(config: pytest.Config) -> Iterator[None]:
    """Suspend pytest's capture (stdin too) and rackval's live display."""
    capman = config.pluginmanager.getplugin("capturemanager")
    progress = config.pluginmanager.get_plugin(PROGRESS_PLUGIN)
    pause = progress.paused() if progress is not None else nullcontext()
    with pause:
        if capman is None:
            yield
            return
        capman.suspend(in_=True)
        try:
            yield
        finally:
            capman.resume()


def _ask(text: str) -> str:
    channel = channel_from_env()  # a run started by the station's web page
    if channel is not None:
        return channel(text)
    # the operator's terminal: reachable only while capture is suspended
    if env_non_interactive() or not sys.stdin or not sys.stdin.isatty():
        raise NotInteractive
    return terminal_ask(sys.stdin, sys.stdout)(text)


def make_operator(config: pytest.Config, node: pytest.Item | None = None) -> Operator:
    """An :class:`Operator` for this pytest session (answers file, terminal, live display)."""
    record = None
    if node is not None:
        record = lambda key, value: node.user_properties.append((f"prompt:{key}", value))  # noqa: E731
    return Operator(
        answers=config.stash.get(ANSWERS, None),
        ask=_ask,
        pause=lambda: _suspended(config),
        record=record,
    )


@pytest.fixture
def operator(request: pytest.FixtureRequest) -> Operator:
    """Manual steps: ``operator.confirm(text, key=...)``, ``.scan(...)``, ``.enter(...)``."""
    return make_operator(request.config, request.node)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, PromptError):
        report.longrepr = str(call.excinfo.value)  # a message for a technician, no traceback
    return report
