"""Operator prompts: manual steps of a run (confirm, scan, enter a value).

Every prompt has a *key*. In an interactive run the technician answers on the
terminal (a barcode scanner is a keyboard that types the code and Enter); in CI
or any non-interactive run the answer comes from an answers file::

    # answers.yaml
    answers:
      rack-serial: RK-DEMO-0001
      probe-busbar-48v: yes          # a confirmation
      ambient-temperature: 23.5      # an entered value
      outlet-label: [A1, A2]         # a list answers the same prompt in turn

A prompt with no answer in a non-interactive run raises :class:`PromptError` at
once (its test fails with the prompt's key and text) instead of waiting forever.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from rackval.yamlfile import load_located, validate_located

T = TypeVar("T")
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_./:-]{0,127}$"
Key = Annotated[str, Field(pattern=KEY_PATTERN)]
Scalar = str | bool | int | float
YES = {"", "y", "yes", "ok", "done", "true"}
NO = {"n", "no", "false", "abort", "q"}
MAX_TRIES = 3

NON_INTERACTIVE_ENV = "RACKVAL_NON_INTERACTIVE"  # set it to never ask at a terminal
# a folder through which the station's web page answers prompts (see :func:`channel_ask`)
PROMPT_CHANNEL_ENV = "RACKVAL_PROMPT_CHANNEL"
CONFIRM_SUFFIX = " [Enter = done, n = abort] "

Ask = Callable[[str], str]  # shows the prompt text, returns what the operator typed


class PromptError(Exception):
    """A prompt could not be answered (no answer, declined, wrong value scanned...)."""


class NotInteractive(Exception):
    """Raised by an :data:`Ask` that finds nobody at a terminal to ask."""


class AnswersModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    answers: dict[Key, Scalar | list[Scalar]]


class Answers:
    """Answers from a file. A single answer answers every prompt with its key; a list
    answers successive prompts in turn and then runs out. Thread-safe."""

    def __init__(self, values: dict[str, Any], source: str = "answers") -> None:
        self.source = source
        self._values = dict(values)
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> tuple[bool, Any]:
        """(True, answer) for the next answer to ``key``; (False, None) when there is none."""
        with self._lock:
            if key not in self._values:
                return False, None
            value = self._values[key]
            if not isinstance(value, list):
                return True, value
            i = self._next.get(key, 0)
            if i >= len(value):
                return False, None
            self._next[key] = i + 1
            return True, value[i]


def load_answers(path: str | Path) -> Answers:
    """Load an answers file; problems are reported as ``answers.yaml:3: answers.key: message``."""
    doc = load_located(path)
    model = validate_located(doc, AnswersModel)
    return Answers(dict(model.answers), source=str(path))


class Operator:
    """What a test uses for manual steps; the ``operator`` fixture gives one per test.

    ``ask`` talks to the technician (None: nobody to ask, i.e. non-interactive);
    ``pause`` returns a context manager that pauses live displays while asking;
    ``record`` is told every (key, answer) for traceability.
    """

    def __init__(
        self,
        answers: Answers | None = None,
        ask: Ask | None = None,
        pause: Callable[[], AbstractContextManager[Any]] | None = None,
        record: Callable[[str, Any], None] | None = None,
    ) -> None:
        self._answers = answers
        self._ask = ask
        self._pause = pause or nullcontext
        self._record = record or (lambda key, value: None)

    # -- the three kinds of prompt ----------------------------------------------
    def confirm(self, text: str, *, key: str) -> None:
        """The operator did a manual step ("..., then press Enter"); raises if they decline."""
        answer = self._answer(key, f"{text}{CONFIRM_SUFFIX}")
        word = str(answer).strip().lower() if not isinstance(answer, bool) else str(answer).lower()
        if word in NO:
            raise PromptError(f"prompt {key!r}: the operator did not confirm: {text}")
        if word not in YES:
            raise PromptError(f"prompt {key!r}: {answer!r} is not a confirmation (Enter or 'no')")
        self._record(key, True)

    def scan(self, text: str, *, key: str, expected: str | None = None, what: str = "value") -> str:
        """A scanned (or typed) code; with ``expected``, it must be exactly that."""
        value = str(self._answer(key, f"{text}: ")).strip()
        if not value:
            raise PromptError(f"prompt {key!r}: nothing was scanned for {what}")
        self._record(key, value)
        if expected is not None and value != expected:
            raise PromptError(f"prompt {key!r}: scanned {what} {value!r}, expected {expected!r}")
        return value

    def enter(
        self,
        text: str,
        *,
        key: str,
        convert: Callable[[str], T] = str,  # type: ignore[assignment]
        check: Callable[[T], bool] | None = None,
        what: str = "value",
    ) -> T:
        """A value the operator types (converted by ``convert``, then ``check``-ed).

        Interactive: a value that does not convert or check is asked again
        (up to three times). From an answers file it fails at once.
        """
        interactive_tries = 0
        while True:
            from_file, raw = self._lookup(key)
            if not from_file:
                raw = self._interactive(key, f"{text}: ")
                interactive_tries += 1
            try:
                value = convert(str(raw).strip())
                if check is not None and not check(value):
                    raise ValueError("not accepted")
            except (ValueError, TypeError) as exc:
                problem = f"prompt {key!r}: {raw!r} is not a valid {what} ({exc})"
                if from_file or interactive_tries >= MAX_TRIES:
                    raise PromptError(problem) from None
                continue
            self._record(key, value)
            return value

    # -- plumbing ----------------------------------------------------------------
    def _lookup(self, key: str) -> tuple[bool, Any]:
        if self._answers is None:
            return False, None
        return self._answers.take(key)

    def _answer(self, key: str, text: str) -> Any:
        found, value = self._lookup(key)
        return value if found else self._interactive(key, text)

    def _interactive(self, key: str, text: str) -> str:
        if self._ask is not None:
            with self._pause():
                try:
                    return self._ask(text)
                except NotInteractive:
                    pass
                except EOFError:
                    raise PromptError(f"prompt {key!r}: input closed before an answer") from None
        where = f" in {self._answers.source}" if self._answers else " (no --answers file given)"
        raise PromptError(
            f"prompt {key!r} has no answer{where} and this run is not interactive: {text.strip().rstrip(':')}"
        )


def env_non_interactive() -> bool:
    return os.environ.get(NON_INTERACTIVE_ENV, "") not in ("", "0")


def terminal_ask(stdin: Any, stdout: Any) -> Ask:
    """An :data:`Ask` on the given streams (the caller checked they are a terminal)."""

    def ask(text: str) -> str:
        stdout.write(text)
        stdout.flush()
        line = stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    return ask


def channel_ask(directory: str | Path, poll_s: float = 0.05) -> Ask:
    """An :data:`Ask` through files, for a run started by the station's web page.

    The run writes ``prompt-N.json`` (``{"id": N, "text": ..., "kind": ...}``) and waits
    for ``answer-N.json`` (``{"answer": "..."}``); both are written to a temporary name
    and renamed, so neither side ever reads half a file. Files, not a socket: the page
    server may restart while a run waits, and the pending prompt is still there. Waiting
    is interrupted by Ctrl-C/SIGINT (the page's Stop) like a terminal prompt.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)

    def ask(text: str) -> str:
        import json
        import time

        existing = [int(p.stem.split("-", 1)[1]) for p in folder.glob("prompt-*.json")]
        n = max(existing, default=0) + 1
        kind = "confirm" if text.endswith(CONFIRM_SUFFIX) else "value"
        shown = text.removesuffix(CONFIRM_SUFFIX).strip().rstrip(":")
        tmp = folder / f".prompt-{n}.tmp"
        tmp.write_text(json.dumps({"id": n, "text": shown, "kind": kind, "pid": os.getpid()}))
        tmp.rename(folder / f"prompt-{n}.json")
        answer = folder / f"answer-{n}.json"
        while not answer.exists():
            time.sleep(poll_s)
        return str(json.loads(answer.read_text()).get("answer", ""))

    return ask


def channel_from_env() -> Ask | None:
    """The web page's prompt channel when ``RACKVAL_PROMPT_CHANNEL`` names one, else None."""
    folder = os.environ.get(PROMPT_CHANNEL_ENV, "")
    return channel_ask(folder) if folder else None
