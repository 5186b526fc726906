"""``rackval station serve`` (the station's web page) and ``rackval station hash-pin``."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from rackval.errors import ConfigError

station_app = typer.Typer(no_args_is_help=True, help="The test station: its web page.")

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _fail(problems: list[str]) -> typer.Exit:
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    return typer.Exit(2)


def listening_socket(host: str, port: int) -> tuple[socket.socket, str]:
    """A TCP socket bound to ``host:port`` and already listening, and its URL.

    Listening before the ready file is written matters: a client that reads the
    file and connects before uvicorn has started gets queued in the backlog and
    served, instead of refused (a bound socket that does not listen refuses; seen
    in CI as ``Connection refused`` on a page server's first request).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # uvicorn's own backlog
    bound = sock.getsockname()[1]
    return sock, f"http://{'[' + host + ']' if ':' in host else host}:{bound}/"


def serve_app(app: Any, host: str, port: int, *, banner: str, what: str, ready_file: Path | None) -> None:
    """Serve an ASGI app on ``host:port`` until Ctrl-C (the station page and the factory overview).

    ``banner`` is printed with ``{url}`` filled in; ``ready_file`` gets ``{"url", "port"}``
    once the socket listens (port 0 picks a free one), for scripts and tests.
    """
    import uvicorn

    if host not in LOOPBACK:
        typer.echo(
            f"warning: listening on {host}: {what} is reachable from the network (use TLS in front)",
            err=True,
        )
    sock, url = listening_socket(host, port)
    bound = sock.getsockname()[1]
    # live event streams never end by themselves: do not wait long for them on Ctrl-C
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    typer.echo(banner.replace("{url}", url))
    sys.stdout.flush()
    if ready_file is not None:
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": url, "port": bound}))
        tmp.rename(ready_file)
    server.run(sockets=[sock])


@station_app.command("serve")
def serve(
    station: Annotated[
        Path | None, typer.Option(envvar="RACKVAL_STATION_FILE", help="station file (operators, racks_dir)")
    ] = None,
    host: Annotated[
        str, typer.Option(help="address to listen on (default: this machine only)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port)")] = 8080,
    results_dir: Annotated[
        Path | None, typer.Option(help="where runs are stored (default: the station's, or ./results)")
    ] = None,
    sim: Annotated[bool, typer.Option("--sim", help="runs started here use simulated racks")] = False,
    scenario: Annotated[
        list[Path] | None, typer.Option(help="a fault scenario the page may pick (with --sim; repeatable)")
    ] = None,
    suite: Annotated[
        list[str] | None, typer.Option(help="suites of runs started here (default: the station's)")
    ] = None,
    marker: Annotated[str | None, typer.Option("-m", "--marker", help="pytest -m expression of runs")] = None,
    tick: Annotated[float, typer.Option(help="seconds between reads of the run's events")] = 0.1,
    ready_file: Annotated[Path | None, typer.Option(help='write {"url": ...} here once listening')] = None,
) -> None:
    """Serve the station's page: start/stop runs, answer prompts, see PASS/FAIL and history."""
    from rackval.station import load_station
    from rackval.web.app import build_context, create_app

    if station is None:
        raise _fail(["--station FILE is required (or set RACKVAL_STATION_FILE)"])
    if scenario and not sim:
        raise _fail(["--scenario needs --sim"])
    try:
        loaded = load_station(station)
        if not loaded.racks_dir:
            raise ConfigError(f"{station}: racks_dir: the station file names no folder of rack files")
        if not loaded.operators:
            typer.echo("warning: the station file lists no operators: nobody can start a run", err=True)
        from rackval.web.auth import legacy_hash_warnings

        for warning in legacy_hash_warnings(loaded.operators):
            typer.echo(f"warning: {warning}", err=True)
        if results_dir is None:
            results_dir = (
                station.resolve().parent / loaded.results_dir if loaded.results_dir else Path("results")
            )
        ctx = build_context(
            loaded,
            results_dir=results_dir,
            simulate=sim,
            scenarios=scenario,
            suites=suite,
            extra_args=["-m", marker] if marker else [],
            tick_s=tick,
        )
    except ConfigError as exc:
        raise _fail(exc.problems) from None
    banner = f"station {loaded.station.id}: serving {{url}} (results in {ctx.settings.results_dir})"
    serve_app(create_app(ctx), host, port, banner=banner, what="the page", ready_file=ready_file)


@station_app.command("hash-pin")
def hash_pin(
    code: Annotated[
        str | None, typer.Argument(help="the PIN or badge code (default: asked, not echoed)")
    ] = None,
) -> None:
    """Print the salted hash to put in the station file's ``operators:`` (pin_hash / badge_hash)."""
    from rackval.web.auth import scrypt_hash

    if code is None:
        code = typer.prompt("PIN or badge", hide_input=True)
    if not code.strip():
        raise _fail(["an empty PIN or badge code"])
    typer.echo(scrypt_hash(code))
