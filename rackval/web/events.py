"""From the run's event file to the page: one view of the run, updates batched per tick.

The run appends JSON lines (:mod:`rackval.plugin.events`); the page server tails
them every ``tick`` seconds, folds them into one :class:`RunView` and sends every
connected page *one* server-sent event per tick with what changed (counts, the
item running, the failures that are new, a prompt). So a run of thousands of
items costs the browser a few small updates a second, not one DOM change per
event; the page bounds its failure list too. A page that connects (or falls
behind: its queue is bounded) gets a full snapshot first.

Only what the run writes as events, and the few fields listed in
:meth:`RunView.snapshot`, ever reach the page: no command line, no rack file,
no station file, no credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rackval.web.runs import RunManager, RunProcess

MAX_FAILURES_SENT = 200  # a snapshot carries at most this many failures (the page shows as many)
QUEUE_SIZE = 64  # updates kept for a slow page before it is resynchronised with a snapshot
KEEPALIVE_S = 15.0
EXIT_OUTCOMES = {0: "pass", 1: "fail", 130: "aborted"}  # rackval run's exit codes; others: error


class EventTail:
    """New complete lines of a file that is being appended to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._partial = b""

    def read(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        events = []
        for line in lines:
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
        return events


@dataclass
class RunView:
    """What the page shows of one run, built from its events and its process."""

    number: int
    serial: str
    operator: str
    retest_of: str | None = None
    scenario: str | None = None
    run_id: str | None = None
    model: str | None = None
    total: int | None = None
    suites: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("passed", "failed", "error", "skipped"), 0)
    )
    running: dict[str, float] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    measurements: dict[str, list[str]] = field(
        default_factory=dict
    )  # failing ones, by nodeid, until the test ends
    first_start: float | None = None
    started: float = field(default_factory=time.time)
    outcome: str | None = None
    exit_code: int | None = None
    stopping: bool = False
    log_tail: list[str] = field(default_factory=list)
    prompt: dict[str, Any] | None = None
    events: int = 0
    last_event_t: float | None = None

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def eta_s(self) -> float | None:
        if self.total is None or not self.done or self.first_start is None or self.outcome:
            return None
        elapsed = (self.last_event_t or time.time()) - self.first_start
        return max(0.0, elapsed / self.done * (self.total - self.done))

    def apply(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Fold one event in; returns a new failure (for the update) or None."""
        self.events += 1
        self.last_event_t = event.get("t", self.last_event_t)
        kind = event.get("type")
        if kind == "run":
            self.run_id = event.get("run_id")
            self.model = event.get("rack_model")
        elif kind == "collected":
            self.total = int(event.get("total", 0))
            self.suites = {name: {"total": n, "done": 0, "failed": 0} for name, n in event["suites"].items()}
        elif kind == "start":
            self.running[event["nodeid"]] = event.get("t", 0.0)
            if self.first_start is None:
                self.first_start = event.get("t")
        elif kind == "measurement":
            self.measurements.setdefault(event["nodeid"], []).append(str(event.get("text", "")))
        elif kind == "test":
            nodeid = event["nodeid"]
            self.running.pop(nodeid, None)
            outcome = event.get("outcome", "error")
            self.counts[outcome] = self.counts.get(outcome, 0) + 1
            suite = self.suites.setdefault(event.get("suite", "?"), {"total": 0, "done": 0, "failed": 0})
            suite["done"] += 1
            measured = self.measurements.pop(nodeid, [])
            if outcome in ("failed", "error"):
                suite["failed"] += 1
                failure = {
                    "nodeid": nodeid,
                    "test": nodeid.rsplit("::", 1)[-1],
                    "item": event.get("item"),
                    "device": event.get("device"),
                    "outcome": outcome,
                    "message": event.get("message"),
                    "measurements": measured,
                }
                self.failures.append(failure)
                return failure
        elif kind == "finished":
            self.outcome = event.get("outcome")
            self.running.clear()
        return None

    def progress(self) -> dict[str, Any]:
        """The fields every update carries (small: counts, not lists)."""
        return {
            "number": self.number,
            "run_id": self.run_id,
            "serial": self.serial,
            "model": self.model,
            "total": self.total,
            "done": self.done,
            "counts": self.counts,
            "suites": self.suites,
            "running": sorted(self.running, key=self.running.get)[:3],
            "eta_s": self.eta_s(),
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "stopping": self.stopping,
            "prompt": self.prompt,
            "failures_total": len(self.failures),
            "events": self.events,
            "last_event_t": self.last_event_t,
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            **self.progress(),
            "operator": self.operator,
            "retest_of": self.retest_of,
            "scenario": self.scenario,
            "log_tail": self.log_tail,
            "failures": self.failures[-MAX_FAILURES_SENT:],
        }


def _public_prompt(prompt: dict[str, Any] | None) -> dict[str, Any] | None:
    if prompt is None:
        return None
    return {"id": prompt.get("id"), "text": prompt.get("text", ""), "kind": prompt.get("kind", "value")}


class Subscriber:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(QUEUE_SIZE)
        self.resync = False


class Hub:
    """Tails the current run every ``tick`` seconds and fans updates out to the pages."""

    def __init__(self, manager: RunManager, tick_s: float = 0.1) -> None:
        self.manager = manager
        self.tick_s = tick_s
        self.view: RunView | None = None
        self._tail: EventTail | None = None
        self._run: RunProcess | None = None
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None

    # -- the loop --------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            self.poll()
            await asyncio.sleep(self.tick_s)

    def poll(self) -> None:
        """One tick: fold in new events, look at the prompt and the process, tell the pages."""
        run = self.manager.current
        if run is None:
            return
        if run is not self._run:
            self._run, self._tail = run, EventTail(run.events_file)
            self.view = RunView(run.number, run.serial, run.operator, run.retest_of, run.scenario)
            self.view.started = run.started
            self._publish("snapshot", self.view.snapshot())
        view, tail = self.view, self._tail
        assert view is not None and tail is not None
        if view.exit_code is not None:
            return
        exit_code = run.exit_code()  # before reading: every event of an ended run is then in the file
        events = tail.read()
        new_failures = [f for f in (view.apply(e) for e in events) if f is not None]
        changed = bool(events)
        prompt = _public_prompt(run.pending_prompt())
        if prompt != view.prompt:
            view.prompt, changed = prompt, True
        if run.stop_requested != view.stopping:
            view.stopping, changed = run.stop_requested, True
        # when the oldest event of this batch was written: the page's worst lag behind the run
        update: dict[str, Any] = {"batch_first_t": events[0].get("t") if events else None}
        if exit_code is not None:
            view.exit_code, changed = exit_code, True
            view.running.clear()
            if view.outcome is None or exit_code not in (0, 1):
                view.outcome = EXIT_OUTCOMES.get(exit_code, "error")
            if exit_code not in (0, 1):
                view.log_tail = run.log_tail()
                update["log_tail"] = view.log_tail
        if changed:
            self._publish("update", {**view.progress(), **update, "new_failures": new_failures})

    # -- the pages ----------------------------------------------------------------------
    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        for sub in list(self._subscribers):
            if sub.resync:
                continue
            try:
                sub.queue.put_nowait((kind, data))
            except asyncio.QueueFull:
                sub.resync = True  # it gets a snapshot instead of the updates it missed

    def snapshot(self) -> dict[str, Any] | None:
        return self.view.snapshot() if self.view is not None else None

    async def stream(self) -> AsyncIterator[str]:
        """Server-sent events for one page: a snapshot, then updates (and keep-alives)."""
        sub = Subscriber()
        self._subscribers.add(sub)
        try:
            yield sse("snapshot", self.snapshot())
            while True:
                if sub.resync:
                    while not sub.queue.empty():
                        sub.queue.get_nowait()
                    sub.resync = False
                    yield sse("snapshot", self.snapshot())
                try:
                    kind, data = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield sse(kind, data)
        finally:
            self._subscribers.discard(sub)


def sse(kind: str, data: Any) -> str:
    """One server-sent event (``data`` as one line of JSON)."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
