"""The factory's commands. Celery is imported only inside them (the embedded default needs none)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from rackval.errors import ConfigError

factory_app = typer.Typer(no_args_is_help=True, help="A factory of stations (Celery + RabbitMQ, PostgreSQL).")

BrokerOpt = Annotated[
    str | None, typer.Option("--broker", envvar="RACKVAL_BROKER", help="broker URL (amqp://...)")
]
DbOpt = Annotated[
    str | None, typer.Option("--results-db", envvar="RACKVAL_RESULTS_DB", help="central results database URL")
]


def _central(results_db: str | None, station_file: Path | None = None) -> str:
    if results_db:
        return results_db
    if station_file is not None:
        from rackval.station import load_station

        station = load_station(station_file)
        if station.results_db:
            return station.results_db
    raise typer.BadParameter("the factory's central results database: --results-db or RACKVAL_RESULTS_DB")


def worker(
    station: Annotated[Path, typer.Option("--station", help="this station's station file")],
    broker: BrokerOpt = None,
    results_db: DbOpt = None,
    results_dir: Annotated[
        Path | None,
        typer.Option(help="the station's own store and journals (default: the station's, or results)"),
    ] = None,
    rack: Annotated[
        list[Path] | None, typer.Option(help="a rack file this station tests (repeatable)")
    ] = None,
    endpoints: Annotated[
        Path | None, typer.Option(help="the station's simulated rack (`rackval sim --ready-file FILE`)")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="log level")] = "INFO",
) -> None:
    """Serve this station's queue: one run at a time, results to the central store."""
    from rackval.factory.worker import Agent, rack_serial_of, serve
    from rackval.station import load_station

    try:
        st = load_station(station)
    except ConfigError as exc:
        for p in exc.problems:
            typer.echo(f"error: {p}", err=True)
        raise typer.Exit(2) from None
    if results_dir is None:
        base = station.parent
        results_dir = (
            base / st.results_dir
            if st.results_dir
            else Path(os.environ.get("RACKVAL_RESULTS_DIR", "results"))
        )
    agent = Agent(station, _central(results_db, station), results_dir, endpoints=endpoints)
    for path in rack or []:
        serial = rack_serial_of(path)
        if serial is None:
            raise typer.BadParameter(f"--rack {path}: no rack serial in it")
        agent.racks[serial] = path.resolve()
    serve(agent, broker, loglevel.upper())


def dispatch(
    rack: Annotated[str, typer.Argument(help="rack serial (or rack file) to run")],
    station: Annotated[str, typer.Option("--station", help="station id to run it on")],
    suite: Annotated[list[str] | None, typer.Option(help="suite (repeatable; default: all)")] = None,
    sim: Annotated[bool, typer.Option("--sim", help="against the station's simulated rack")] = False,
    scenario: Annotated[list[Path] | None, typer.Option(help="fault scenario (implies --sim)")] = None,
    marker: Annotated[str | None, typer.Option("-m", help="pytest -m expression")] = None,
    keyword: Annotated[str | None, typer.Option("-k", help="pytest -k expression")] = None,
    broker: BrokerOpt = None,
) -> None:
    """Queue a run for one station and print its run id."""
    from rackval.factory.dispatch import BrokerUnreachable, run_spec
    from rackval.factory.dispatch import dispatch as send

    spec = run_spec(
        rack,
        suites=suite,
        sim=sim,
        scenarios=[str(s) for s in scenario or []],
        marker=marker,
        keyword=keyword,
    )
    try:
        typer.echo(send(station, spec, broker))
    except BrokerUnreachable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@factory_app.command()
def status(
    results_db: DbOpt = None,
    broker: BrokerOpt = None,
    watch: Annotated[bool, typer.Option("--watch", help="refresh every 2 s until Ctrl-C")] = False,
) -> None:
    """Every station: idle, running which rack (item n of m), or offline; runs queued (from the broker)."""
    import time

    from rackval.factory.app import broker_url

    central = _central(results_db)
    while True:
        code = _show_status(central, broker_url(broker))
        if not watch:
            if code:
                raise typer.Exit(code)
            return
        try:
            time.sleep(2)
        except KeyboardInterrupt:
            return
        typer.echo("")


def _show_status(central: str, broker: str) -> int:
    from rackval.factory.status import factory_status

    found = factory_status(central, broker=broker)
    for error in (found.store_error, found.broker_error):
        if error:
            typer.echo(f"warning: {error}", err=True)
    if found.store_error and found.broker_error:
        typer.echo("error: neither the central store nor the broker could be read", err=True)
        return 2
    if found.store_error:
        typer.echo("central store unreachable: stations as the broker knows them (no heartbeats)")
    elif found.broker_error:
        typer.echo("broker unreachable: stations from their heartbeats (no queue depths)")
    if not found:
        typer.echo("no stations have reported")
    for st in found:
        typer.echo(f"{st.station_id:<24} {st.describe()}")
    return 0


@factory_app.command()
def serve(
    results_db: DbOpt = None,
    host: Annotated[
        str, typer.Option(help="address to listen on (default: this machine only)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port)")] = 8090,
    tick: Annotated[float, typer.Option(help="seconds between reads of the central database")] = 1.0,
    ready_file: Annotated[Path | None, typer.Option(help='write {"url": ...} here once listening')] = None,
) -> None:
    """Serve the factory overview page: every station and the latest runs, live (read-only)."""
    from rackval.factory.web import create_app, database_name
    from rackval.web.cli import serve_app

    central = _central(results_db)
    banner = f"factory overview: serving {{url}} (central database {database_name(central)})"
    app = create_app(central, tick_s=tick)
    serve_app(app, host, port, banner=banner, what="the overview", ready_file=ready_file)


@factory_app.command()
def sim(
    stations: Annotated[int, typer.Option("--stations", help="how many simulated stations")] = 2,
    workdir: Annotated[Path, typer.Option(help="where rack/station files and station stores go")] = Path(
        "factory-sim"
    ),
    broker: BrokerOpt = None,
    results_db: DbOpt = None,
    prefix: Annotated[str, typer.Option(help="station id prefix")] = "SIM",
) -> None:
    """Start N station workers, each with its own simulated rack, until Ctrl-C."""
    from rackval.factory.sim import run_factory

    run_factory(stations, workdir, broker, _central(results_db), prefix)
