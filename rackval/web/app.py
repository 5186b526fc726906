"""The station's web page: an ASGI app (Starlette) over the run manager, the hub and the store.

Routes (JSON unless said otherwise; POSTs need an operator session and the
``X-Rackval`` header, see :mod:`rackval.web.auth`):

=======================================  ===================================================
``GET /``                                the page (HTML); controls only for an operator
``GET /api/state``                       the current run (snapshot) and the station
``GET /api/events``                      server-sent events: ``snapshot``, then ``update``
``GET /api/history?serial=S``            runs of a rack (newest first), or the latest runs
``GET /runs/{run_id}/report``            the run's HTML report (exported on demand)
``POST /api/login`` ``{code}``           PIN or badge -> session cookie
``POST /api/logout``
``POST /api/runs`` ``{serial, ...}``     start a run (``retest``: a run id; ``scenario``)
``POST /api/runs/current/stop``          Ctrl-C for the run
``POST /api/prompts/{id}`` ``{answer}``  answer the prompt the run waits on
=======================================  ===================================================

The factory overview (every station of a hall, from the central database) is
:mod:`rackval.factory.web` (``rackval factory serve``); it shares ``static/``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rackval.results.store import ResultsStore, RunRecord, StoreError
from rackval.station import Station
from rackval.web.auth import ACTION_HEADER, COOKIE, SESSION_TTL_S, Auth
from rackval.web.events import Hub
from rackval.web.runs import RunError, RunManager, RunSettings

STATIC = Path(__file__).parent / "static"
HISTORY_LIMIT = 100


@dataclass
class WebContext:
    station: Station
    settings: RunSettings
    auth: Auth
    manager: RunManager
    hub: Hub
    secure_cookie: bool = False


def _run_json(run: RunRecord) -> dict[str, Any]:
    # an explicit list: nothing else of a stored run (command line, rack plan) reaches the page
    return {
        "run_id": run.run_id,
        "rack_serial": run.rack_serial,
        "rack_model": run.rack_model,
        "operator": run.operator_id,
        "suites": [Path(s).parent.name or s for s in run.suites],
        "outcome": run.outcome,
        "retest_of": run.retest_of,
        "scenario": Path(run.scenario).stem if run.scenario else None,
        "started_at": run.started_at.isoformat(),
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
    }


def create_app(ctx: WebContext) -> Starlette:
    env = Environment(loader=PackageLoader("rackval.web", "templates"), autoescape=select_autoescape())
    page = env.get_template("index.html.j2")

    def operator_of(request: Request) -> str | None:
        return ctx.auth.operator(request.cookies.get(COOKIE))

    def station_json(operator: str | None) -> dict[str, Any]:
        return {
            "id": ctx.station.station.id,
            "description": ctx.station.station.description,
            "operator": operator,
            "simulated": ctx.settings.simulate,
            "scenarios": sorted(ctx.settings.scenarios),
            "racks": [{"serial": r.serial, "model": r.model} for r in ctx.settings.racks.racks()],
        }

    Handler = Callable[[Request, str], Awaitable[Response]]

    def action(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Only an operator session, and only from the page's own script."""

        async def wrapped(request: Request) -> Response:
            operator = operator_of(request)
            if operator is None:
                return JSONResponse({"error": "log in as an operator first"}, status_code=403)
            if request.headers.get(ACTION_HEADER) != "1":
                return JSONResponse({"error": "missing X-Rackval header"}, status_code=403)
            try:
                return await handler(request, operator)
            except RunError as exc:
                return JSONResponse({"error": str(exc)}, status_code=exc.status)

        return wrapped

    async def body(request: Request) -> dict[str, Any]:
        with contextlib.suppress(ValueError):
            data = await request.json()
            if isinstance(data, dict):
                return data
        raise RunError("expected a JSON object")

    # -- pages -------------------------------------------------------------------------
    async def index(request: Request) -> Response:
        operator = operator_of(request)
        html = page.render(station=station_json(operator), operator=operator)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def state(request: Request) -> Response:
        return JSONResponse({"station": station_json(operator_of(request)), "run": ctx.hub.snapshot()})

    async def events(request: Request) -> Response:
        return StreamingResponse(
            ctx.hub.stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    def _store() -> ResultsStore:
        return ResultsStore.open(None, ctx.settings.results_dir)

    async def history(request: Request) -> Response:
        serial = request.query_params.get("serial", "").strip() or None

        def read() -> list[dict[str, Any]]:
            store = _store()
            try:
                return [_run_json(r) for r in store.list_runs(serial=serial, limit=HISTORY_LIMIT)]
            finally:
                store.close()

        return JSONResponse({"serial": serial, "runs": await run_in_threadpool(read)})

    async def report(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        if not run_id.isalnum():
            return JSONResponse({"error": "not a run id"}, status_code=404)

        def write() -> Path:
            from rackval.results.exporters import export

            store = _store()
            try:
                full = store.resolve_run_id(run_id)
                target = ctx.settings.results_dir / "reports" / f"{full}.html"
                record = store.get_run(full)
                # a finished run's report never changes: export it once
                if not target.exists() or record.ended_at is None:
                    export(store, full, "html", target)
                return target
            finally:
                store.close()

        try:
            target = await run_in_threadpool(write)
        except StoreError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        return FileResponse(target, media_type="text/html")

    # -- actions -------------------------------------------------------------------------
    async def login(request: Request) -> Response:
        if request.headers.get(ACTION_HEADER) != "1":
            return JSONResponse({"error": "missing X-Rackval header"}, status_code=403)
        try:
            code = str((await body(request)).get("code", ""))
        except RunError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        # a scrypt per stored hash: off the event loop, so live pages do not stall
        token = await run_in_threadpool(ctx.auth.login, code) if code else None
        if token is None:
            return JSONResponse({"error": "unknown PIN or badge"}, status_code=401)
        response = JSONResponse({"operator": ctx.auth.operator(token)})
        response.set_cookie(
            COOKIE,
            token,
            max_age=SESSION_TTL_S,
            httponly=True,
            samesite="strict",
            secure=ctx.secure_cookie,
        )
        return response

    async def logout(request: Request) -> Response:
        ctx.auth.logout(request.cookies.get(COOKIE))
        response = JSONResponse({"operator": None})
        response.delete_cookie(COOKIE)
        return response

    async def start_run(request: Request, operator: str) -> Response:
        data = await body(request)
        retest = data.get("retest") or None
        if retest is not None and not str(retest).isalnum():
            raise RunError("retest: not a run id")
        run = ctx.manager.start(
            str(data.get("serial", "")), operator, retest=retest, scenario=data.get("scenario") or None
        )
        ctx.hub.poll()
        return JSONResponse({"number": run.number, "serial": run.serial}, status_code=201)

    async def stop_run(request: Request, operator: str) -> Response:
        run = ctx.manager.stop()
        return JSONResponse({"number": run.number, "stopping": True})

    async def answer(request: Request, operator: str) -> Response:
        data = await body(request)
        run = ctx.manager.current
        if run is None:
            raise RunError("no run in progress", 409)
        try:
            prompt_id = int(request.path_params["prompt_id"])
        except ValueError:
            raise RunError("not a prompt id", 404) from None
        run.answer(prompt_id, str(data.get("answer", "")))
        ctx.hub.poll()
        return JSONResponse({"answered": prompt_id})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await ctx.hub.start()
        try:
            yield
        finally:
            await ctx.hub.stop()
            await run_in_threadpool(ctx.manager.shutdown)

    routes = [
        Route("/", index),
        Route("/api/state", state),
        Route("/api/events", events),
        Route("/api/history", history),
        Route("/runs/{run_id}/report", report),
        Route("/api/login", login, methods=["POST"]),
        Route("/api/logout", logout, methods=["POST"]),
        Route("/api/runs", action(start_run), methods=["POST"]),
        Route("/api/runs/current/stop", action(stop_run), methods=["POST"]),
        Route("/api/prompts/{prompt_id}", action(answer), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def build_context(
    station: Station,
    *,
    results_dir: Path,
    simulate: bool = False,
    scenarios: list[Path] | None = None,
    suites: list[str] | None = None,
    extra_args: list[str] | None = None,
    tick_s: float = 0.1,
) -> WebContext:
    """Everything the app needs, from a loaded station file and the server's options."""
    from rackval.web.runs import RackIndex, scenario_files

    assert station.source is not None
    racks_dir = station.source.parent / station.racks_dir if station.racks_dir else None
    settings = RunSettings(
        station_file=station.source,
        results_dir=results_dir.resolve(),
        racks=RackIndex(racks_dir),
        simulate=simulate,
        scenarios=scenario_files(scenarios or []) if simulate else {},
        suites=list(suites or []),
        extra_args=list(extra_args or []),
    )
    manager = RunManager(settings)
    return WebContext(station, settings, Auth(station.operators), manager, Hub(manager, tick_s))
