"""Runs started from the page: ``rackval run`` as a child process, one at a time.

A child process, not a thread: the page server never blocks on a run, a run that
crashes (or is killed) cannot take the page down, and the run is exactly what a
technician gets on the terminal (same CLI, same exit codes, same Ctrl-C restore).
The page talks to it through two folders it names in the child's environment:
``RACKVAL_EVENTS`` (the run's JSON-lines events, :mod:`rackval.plugin.events`)
and ``RACKVAL_PROMPT_CHANNEL`` (prompts and their answers, :func:`rackval.prompts.channel_ask`).
Stop sends SIGINT, the very signal Ctrl-C sends, so the run's teardowns put the
rack back in its safe state as they do at the terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rackval.errors import ConfigError
from rackval.plugin.events import EVENTS_ENV
from rackval.prompts import PROMPT_CHANNEL_ENV


class RunError(Exception):
    """A run cannot be started (unknown serial, one already running...); ``status`` is HTTP's."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RackEntry:
    serial: str
    model: str
    path: Path


class RackIndex:
    """The station's rack files by serial (the folder is re-read when it changes)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._cache: dict[Path, tuple[float, RackEntry | None]] = {}

    def racks(self) -> list[RackEntry]:
        if self.folder is None or not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.glob("*.y*ml")):
            mtime = path.stat().st_mtime
            cached = self._cache.get(path)
            if cached is None or cached[0] != mtime:
                cached = (mtime, self._entry(path))
                self._cache[path] = cached
            if cached[1] is not None:
                found.append(cached[1])
        return found

    @staticmethod
    def _entry(path: Path) -> RackEntry | None:
        # the rack section only: loading a hall-sized rack file in full for its serial is slow
        import yaml

        try:
            with path.open(encoding="utf-8") as f:
                head = yaml.safe_load(f)
            rack = head.get("rack") if isinstance(head, dict) else None
            if isinstance(rack, dict) and rack.get("serial"):
                return RackEntry(str(rack["serial"]), str(rack.get("model", "")), path)
        except (OSError, yaml.YAMLError):
            return None
        return None

    def find(self, serial: str) -> RackEntry:
        matches = [r for r in self.racks() if r.serial == serial]
        if not matches:
            raise RunError(f"no rack file with serial {serial!r} in {self.folder}", 404)
        if len(matches) > 1:
            names = ", ".join(m.path.name for m in matches)
            raise RunError(f"serial {serial!r} is in more than one rack file: {names}", 409)
        return matches[0]


@dataclass
class RunSettings:
    """How the page starts runs (from ``rackval station serve``'s options)."""

    station_file: Path
    results_dir: Path
    racks: RackIndex
    simulate: bool = False
    scenarios: dict[str, Path] = field(default_factory=dict)  # name -> file, only under --sim
    suites: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)


@dataclass
class RunProcess:
    """One ``rackval run`` child and its folder (events, prompts, log)."""

    number: int
    serial: str
    operator: str
    folder: Path
    process: subprocess.Popen[bytes]
    started: float
    retest_of: str | None = None
    scenario: str | None = None
    stop_requested: bool = False

    @property
    def events_file(self) -> Path:
        return self.folder / "events.jsonl"

    @property
    def prompts_dir(self) -> Path:
        return self.folder / "prompts"

    @property
    def log_file(self) -> Path:
        return self.folder / "run.log"

    def exit_code(self) -> int | None:
        return self.process.poll()

    def pending_prompt(self) -> dict | None:
        """The oldest prompt the run waits on (one without an answer file), or None."""
        if self.exit_code() is not None or not self.prompts_dir.is_dir():
            return None
        for path in sorted(self.prompts_dir.glob("prompt-*.json"), key=lambda p: int(p.stem[7:])):
            if not (self.prompts_dir / f"answer-{path.stem[7:]}.json").exists():
                try:
                    return json.loads(path.read_text())
                except (OSError, ValueError):
                    return None
        return None

    def answer(self, prompt_id: int, answer: str) -> None:
        prompt = self.pending_prompt()
        if prompt is None or prompt.get("id") != prompt_id:
            raise RunError(f"the run is not waiting on prompt {prompt_id}", 409)
        tmp = self.prompts_dir / f".answer-{prompt_id}.tmp"
        tmp.write_text(json.dumps({"answer": answer}))
        tmp.rename(self.prompts_dir / f"answer-{prompt_id}.json")

    def log_tail(self, lines: int = 15) -> list[str]:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]


class RunManager:
    """Starts, stops and answers the station's one run at a time."""

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self.current: RunProcess | None = None
        self._count = 0
        self._lock = threading.Lock()

    def command(self, rack: Path, operator: str, retest: str | None, scenario: str | None) -> list[str]:
        s = self.settings
        cmd = [sys.executable, "-m", "rackval", "run", str(rack), "--station", str(s.station_file)]
        cmd += ["--results-dir", str(s.results_dir), "--operator", operator, "--plain"]
        if s.simulate:
            cmd.append("--sim")
            if scenario:
                cmd += ["--scenario", str(s.scenarios[scenario])]
        cmd += [a for name in s.suites for a in ("--suite", name)]
        cmd += ["--retest", retest] if retest else []
        return cmd + s.extra_args

    def start(
        self, serial: str, operator: str, retest: str | None = None, scenario: str | None = None
    ) -> RunProcess:
        serial = serial.strip()
        if not serial:
            raise RunError("scan or type the rack serial")
        if scenario and scenario not in self.settings.scenarios:
            raise RunError(f"unknown scenario {scenario!r}")
        rack = self.settings.racks.find(serial)
        with self._lock:
            if self.current is not None and self.current.exit_code() is None:
                raise RunError(f"a run of {self.current.serial} is in progress", 409)
            self._count += 1
            folder = self.settings.results_dir / "web" / f"{time.strftime('%Y%m%d-%H%M%S')}-{self._count}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "prompts").mkdir()
            env = {
                **os.environ,
                EVENTS_ENV: str(folder / "events.jsonl"),
                PROMPT_CHANNEL_ENV: str(folder / "prompts"),
            }
            env.pop("RACKVAL_ANSWERS", None)  # the page answers
            with (folder / "run.log").open("wb") as log:
                process = subprocess.Popen(
                    self.command(rack.path, operator, retest, scenario),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.settings.station_file.parent,
                    # its own session: a Ctrl-C at the server's terminal must not reach the run
                    # as well as the one SIGINT the server sends it (a second Ctrl-C would cut
                    # the run's restore short)
                    start_new_session=True,
                )
            self.current = RunProcess(
                number=self._count,
                serial=serial,
                operator=operator,
                folder=folder,
                process=process,
                started=time.time(),
                retest_of=retest,
                scenario=scenario,
            )
            return self.current

    def stop(self) -> RunProcess:
        """Ctrl-C for the run: SIGINT, and the run restores the rack and ends itself."""
        run = self.current
        if run is None or run.exit_code() is not None:
            raise RunError("no run in progress", 409)
        if run.stop_requested:
            return run  # one SIGINT: a second would interrupt the restore, as a second Ctrl-C does
        run.stop_requested = True
        interrupt(run.process)
        return run

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """The page server is stopping: stop the run the same safe way and wait for it."""
        run = self.current
        if run is None or run.exit_code() is not None:
            return
        if not run.stop_requested:
            run.stop_requested = True
            interrupt(run.process)
        try:
            run.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            run.process.terminate()  # SIGTERM: rackval handles it as an interrupt too
            run.process.wait(10)


def interrupt(process: subprocess.Popen[bytes]) -> None:
    """What Ctrl-C does at a terminal: SIGINT to the run's process group (it leads its own)."""
    with contextlib.suppress(ProcessLookupError):  # it has just ended
        os.killpg(process.pid, signal.SIGINT)


def scenario_files(paths: list[Path]) -> dict[str, Path]:
    """Scenario files by name (the file's stem) for the page's start form."""
    named: dict[str, Path] = {}
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"--scenario: {path}: file not found")
        named[path.stem] = path.resolve()
    return named
