"""The factory overview page: every station and what it is doing, from the central store.

Read-only: an ASGI app (Starlette) over :func:`rackval.factory.status.factory_status`
(the stations' heartbeat rows) and the central :class:`ResultsStore` (runs).

=======================================  ===================================================
``GET /``  (``?serial=S``)               the page (HTML); with a serial, that rack's history
``GET /api/stations``                    every station: state, rack, item n of m, run, host
``GET /api/runs?serial=S``               the latest runs of the factory, or of one rack
``GET /api/events``                      server-sent events: a ``snapshot`` whenever it changes
=======================================  ===================================================

One :class:`Overview` reads the central database at most once a tick, for every
page and every request (``/api/stations``, the latest runs, the stream; only
while someone asks): a hundred screens cost the database what one does.
When the database is unreachable, the JSON endpoints answer 503 with a message
and the stream keeps sending the last good view marked ``db.ok = false``: the
page says so in a banner and keeps showing it. Only the fields listed in
:func:`station_json` and :func:`run_json` reach the page, and the database is
named by its redacted URL: never its password.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rackval.factory.status import StationStatus, factory_status
from rackval.results.store import ResultsStore, RunRecord, redact

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"  # the station page's, shared

LATEST_RUNS = 20  # runs of the whole factory on the page
HISTORY_LIMIT = 100  # runs of one rack
CONNECT_TIMEOUT_S = 3  # a database host that drops packets must not hang the page for minutes
KEEPALIVE_S = 15.0
RETRY_MS = 1000  # how soon a page's EventSource reconnects


class CentralUnavailable(Exception):
    """The central database could not be read (the message is safe to show)."""


def with_connect_timeout(url: str, seconds: int = CONNECT_TIMEOUT_S) -> str:
    """``url`` with a libpq connect timeout, unless it names one (PostgreSQL only)."""
    try:
        parsed = make_url(url)
    except Exception:
        return url
    if parsed.get_backend_name() != "postgresql" or "connect_timeout" in parsed.query:
        return url
    return parsed.update_query_dict({"connect_timeout": str(seconds)}).render_as_string(hide_password=False)


def database_name(url: str) -> str:
    """What the page calls the database: host, port and name, no user or password."""
    try:
        parsed = make_url(url)
    except Exception:
        return "<unparseable database URL>"
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite {parsed.database or ':memory:'}"
    where = parsed.host or "localhost"
    if parsed.port:
        where += f":{parsed.port}"
    return f"{where}/{parsed.database or ''}"


def scrub(message: str, url: str) -> str:
    """A driver's message with the URL's password (and the URL itself) taken out."""
    try:
        parsed = make_url(url)
        password = parsed.password
    except Exception:
        password = None
    message = message.replace(f"results store {redact(url)}: ", "")  # the banner names the database
    message = message.replace(url, redact(url))
    if password:
        message = message.replace(str(password), "***")
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    return first[:300]


def station_json(st: StationStatus) -> dict[str, Any]:
    # an explicit list: whatever else a status row learns to carry does not reach the page by itself
    return {
        "station_id": st.station_id,
        "state": st.state,
        "run_id": st.run_id,
        "rack_serial": st.rack_serial,
        "item_done": st.item_done,
        "item_total": st.item_total,
        "beat_age_s": round(st.beat_age_s, 1),
        "host": st.host,
        "describe": st.describe(),
    }


def run_json(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "rack_serial": run.rack_serial,
        "rack_model": run.rack_model,
        "station_id": run.station_id,
        "operator": run.operator_id,
        "outcome": run.outcome,
        "retest_of": run.retest_of,
        "started_at": run.started_at.isoformat(),
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
    }


class Central:
    """The central database, read in worker threads; its store is opened once and reused."""

    def __init__(self, url: str) -> None:
        self.url = with_connect_timeout(url)
        self.name = database_name(url)
        self.redacted = redact(url)
        self._store: ResultsStore | None = None
        self._lock = threading.Lock()

    def _fail(self, exc: Exception) -> CentralUnavailable:
        log.warning("central database %s: %s", self.name, scrub(str(exc), self.url))
        return CentralUnavailable(f"central database {self.name} unreachable: {scrub(str(exc), self.url)}")

    def store(self) -> ResultsStore:
        with self._lock:
            if self._store is None:
                self._store = ResultsStore.open(self.url)
            return self._store

    def forget_store(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()

    def stations(self) -> list[dict[str, Any]]:
        try:
            return [station_json(st) for st in factory_status(self.url)]
        except Exception as exc:  # a read-only page never fails with the database: it says so
            raise self._fail(exc) from None

    def runs(self, serial: str | None = None, limit: int = LATEST_RUNS) -> list[dict[str, Any]]:
        try:
            return [run_json(r) for r in self.store().list_runs(serial=serial, limit=limit)]
        except Exception as exc:
            self.forget_store()  # opened again (schema checked) once the database is back
            raise self._fail(exc) from None

    def close(self) -> None:
        self.forget_store()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Overview:
    """The factory as the pages see it, read once a tick while any page listens."""

    def __init__(self, central: Central, tick_s: float = 1.0) -> None:
        self.central = central
        self.tick_s = tick_s
        self.stations: list[dict[str, Any]] = []
        self.runs: list[dict[str, Any]] = []
        self.db: dict[str, Any] = {"ok": None, "name": central.name, "error": None, "since": None}
        self.version = 0
        self.current: dict[str, Any] | None = None
        self.listeners = 0
        self._cond: asyncio.Condition | None = None
        self._reading: asyncio.Lock | None = None
        self._read_t = 0.0  # time.monotonic() of the last read
        self._task: asyncio.Task[None] | None = None

    # -- reading the database -----------------------------------------------------------
    def read(self) -> dict[str, Any]:
        """One look at the database (in a worker thread); the last good view if it is away."""
        try:
            stations = self.central.stations()
            runs = self.central.runs(limit=LATEST_RUNS)
        except CentralUnavailable as exc:
            if self.db["ok"] is not False:
                self.db = {**self.db, "ok": False, "error": str(exc), "since": _now()}
            else:
                self.db = {**self.db, "error": str(exc)}
        else:
            self.stations, self.runs = stations, runs
            self.db = {**self.db, "ok": True, "error": None, "since": None}
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        counts = dict.fromkeys(("idle", "running", "recovering", "offline"), 0)
        for st in self.stations:
            counts[st["state"]] = counts.get(st["state"], 0) + 1
        return {
            "db": self.db,
            "stations": self.stations,
            "runs": self.runs,
            "counts": counts,
            "read_at": _now(),
        }

    async def refresh(self) -> None:
        assert self._cond is not None and self._reading is not None
        async with self._reading:  # one read at a time: requests arriving meanwhile share it
            started = time.monotonic()
            snap = await run_in_threadpool(self.read)
            self._read_t = started
        async with self._cond:
            changed = self.current is None or {**snap, "read_at": None} != {
                **self.current,
                "read_at": None,
            }
            self.current = snap
            if changed:
                self.version += 1
                self._cond.notify_all()

    async def latest(self) -> dict[str, Any]:
        """The snapshot, read again only when older than a tick: every page and script shares it."""
        assert self._reading is not None
        if self.current is None or time.monotonic() - self._read_t >= self.tick_s:
            t = self._read_t
            async with self._reading:
                pass  # a read in progress: wait for it rather than start another
            if self._read_t == t or time.monotonic() - self._read_t >= self.tick_s:
                await self.refresh()
        assert self.current is not None
        return self.current

    # -- the loop ------------------------------------------------------------------------
    async def start(self) -> None:
        self._cond = asyncio.Condition()
        self._reading = asyncio.Lock()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            if self.listeners:
                try:
                    await self.refresh()
                except Exception:  # never let the loop die: the pages would freeze silently
                    log.exception("factory overview: refresh failed")
            await asyncio.sleep(max(self.tick_s, 0.05))

    async def _newer_than(self, seen: int) -> None:
        assert self._cond is not None
        async with self._cond:
            await self._cond.wait_for(lambda: self.version != seen)

    async def stream(self) -> AsyncIterator[str]:
        """Server-sent events for one page: the current snapshot, then each newer one."""
        assert self._cond is not None
        self.listeners += 1
        try:
            await self.latest()
            yield f"retry: {RETRY_MS}\n\n"
            seen = self.version
            yield sse("snapshot", self.current)
            while True:
                try:
                    await asyncio.wait_for(self._newer_than(seen), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                seen = self.version
                yield sse("snapshot", self.current)  # a slow page skips to the newest: no backlog
        finally:
            self.listeners -= 1


def sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def create_app(central_url: str, tick_s: float = 1.0) -> Starlette:
    """The overview app for the central database at ``central_url``."""
    env = Environment(loader=PackageLoader("rackval.web", "templates"), autoescape=select_autoescape())
    page = env.get_template("factory.html.j2")
    central = Central(central_url)
    overview = Overview(central, tick_s)

    def unavailable(error: str) -> Response:
        return JSONResponse(
            {"error": error, "db": {"ok": False, "name": central.name}},
            status_code=503,
            headers={"Cache-Control": "no-store", "Retry-After": "1"},
        )

    def serial_of(request: Request) -> str | None:
        return request.query_params.get("serial", "").strip()[:64] or None

    async def index(request: Request) -> Response:
        initial = await overview.latest()
        html = page.render(initial=initial, serial=serial_of(request), db_name=central.name)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def api_stations(request: Request) -> Response:
        snap = await overview.latest()
        if not snap["db"]["ok"]:
            return unavailable(snap["db"]["error"])
        return JSONResponse({"db": {"ok": True, "name": central.name}, "stations": snap["stations"]})

    async def api_runs(request: Request) -> Response:
        serial = serial_of(request)
        limit = HISTORY_LIMIT if serial else LATEST_RUNS
        with contextlib.suppress(ValueError):
            limit = max(1, min(HISTORY_LIMIT, int(request.query_params.get("limit", limit))))
        if serial is None and limit == LATEST_RUNS:
            snap = await overview.latest()
            if not snap["db"]["ok"]:
                return unavailable(snap["db"]["error"])
            found = snap["runs"]
        else:
            try:
                found = await run_in_threadpool(central.runs, serial, limit)
            except CentralUnavailable as exc:
                return unavailable(str(exc))
        return JSONResponse({"db": {"ok": True, "name": central.name}, "serial": serial, "runs": found})

    async def events(request: Request) -> Response:
        return StreamingResponse(
            overview.stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await overview.start()
        try:
            yield
        finally:
            await overview.stop()
            await run_in_threadpool(central.close)

    routes = [
        Route("/", index),
        Route("/api/stations", api_stations),
        Route("/api/runs", api_runs),
        Route("/api/events", events),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.overview = overview
    return app
