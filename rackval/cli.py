"""The ``rackval`` command: validate, simulate, check, list and run acceptance suites.

Exit codes of ``rackval run`` (and ``doctor``), documented in docs/technician.md:

====  ==========================================================================
0     passed: every selected test passed
1     failed: at least one test failed (the banner lists them by device)
2     configuration or usage error (rack/station/limits/answers file, options,
      a suite that does not load, a selection that matches nothing)
3     the rack is not ready: a device does not answer, rejects its credentials,
      or is not the device the rack file names (or the scanned serial is wrong)
4     internal error of rackval or pytest
130   interrupted (Ctrl-C, SIGTERM); the rack was restored by the teardowns
====  ==========================================================================
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from rackval.errors import ConfigError

app = typer.Typer(
    name="rackval",
    help="Rack validation: acceptance suites for PDUs, switches and instruments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130

VERBOSE_FLAGS = ("-v", "-vv", "-vvv", "--verbose", "-rA", "-ra", "-s", "--capture=no")


def _error(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _config_exit(exc: ConfigError) -> typer.Exit:
    for problem in exc.problems:
        typer.echo(f"error: {problem}", err=True)
    return typer.Exit(EXIT_USAGE)


@app.command()
def validate(rack_file: Annotated[Path, typer.Argument(help="rack file to check")]) -> None:
    """Check a rack file (and the limits file it names); print every problem with file:line."""
    from rackval.limits import load_limits
    from rackval.model import load_rack, resolve_include

    try:
        rack = load_rack(rack_file)
        limits = load_limits(resolve_include(rack.base_dir, rack.limits, what=f"{rack_file.name}: limits"))
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        raise typer.Exit(EXIT_USAGE) from None
    typer.echo(
        f"OK: rack {rack.rack.serial} ({rack.rack.model}, plan {rack.rack.plan_version}): "
        f"{len(rack.devices)} devices, {len(rack.power)} powered outlets, "
        f"{len(rack.cabling)} planned links; limits version {limits.version}"
    )


@app.command()
def schema() -> None:
    """Print the rack file's JSON Schema (for editor completion)."""
    from rackval.model import rack_json_schema

    typer.echo(json.dumps(rack_json_schema(), indent=2))


@app.command()
def sim(
    rack_file: Annotated[Path, typer.Argument(help="rack file to simulate")],
    scenario: Annotated[list[Path] | None, typer.Option(help="fault scenario (repeatable)")] = None,
    ready_file: Annotated[Path | None, typer.Option(help="write the endpoints as JSON here")] = None,
) -> None:
    """Serve a simulated rack on 127.0.0.1 until Ctrl-C; prints each device's endpoint."""
    from simulators.rack import run

    scenario = scenario or []
    try:
        raise typer.Exit(run(rack_file, list(scenario), ready_file))
    except ConfigError as exc:
        raise _error(str(exc)) from None


# -- doctor ---------------------------------------------------------------------


@app.command()
def doctor(
    rack_file: Annotated[Path, typer.Argument(help="rack file of the rack to check")],
    sim: Annotated[bool, typer.Option("--sim", help="check a simulated rack")] = False,
    scenario: Annotated[
        list[Path] | None,
        typer.Option(help="fault scenario for the simulated rack (implies --sim)"),
    ] = None,
    device: Annotated[list[str] | None, typer.Option(help="only check this device (repeatable)")] = None,
) -> None:
    """Check every device concurrently: reachable, credentials work, identity matches."""
    from rich.console import Console

    from rackval.model import load_rack
    from rackval.preflight import check_rack, render

    scenario, device = scenario or [], device or []
    try:
        rack = load_rack(rack_file)
        unknown = sorted(set(device) - set(rack.devices))
        if unknown:
            raise ConfigError(f"--device: no device named {', '.join(unknown)} in {rack_file}")
        simulated = None
        if sim or scenario:
            from rackval.simprocess import start_sim_process

            simulated = start_sim_process(rack.source, [s.resolve() for s in scenario])
    except ConfigError as exc:
        raise _config_exit(exc) from None
    try:
        readiness = check_rack(rack, simulated.overlay if simulated else None, device or None)
    except ConfigError as exc:
        raise _config_exit(exc) from None
    finally:
        if simulated is not None:
            simulated.stop()
    render(readiness, Console(highlight=False))
    raise typer.Exit(EXIT_PASSED if readiness.ready else EXIT_UNREACHABLE)


# -- list -------------------------------------------------------------------------


@app.command("list")
def list_(
    rack_file: Annotated[Path, typer.Argument(help="rack file of the rack to list for")],
    suite: Annotated[list[str] | None, typer.Option(help="suite (repeatable; default: all)")] = None,
    device: Annotated[list[str] | None, typer.Option(help="only this device's items (repeatable)")] = None,
    keyword: Annotated[str | None, typer.Option("-k", help="pytest -k expression")] = None,
    marker: Annotated[str | None, typer.Option("-m", help="pytest -m expression")] = None,
    limits: Annotated[Path | None, typer.Option(help="limits file (default: the rack's)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show the suites and parametrized items a run would execute (the rack is not touched)."""
    from rich.console import Console

    from rackval.listing import collect, render
    from rackval.model import load_rack
    from rackval.suites import suite_paths

    suite, device = suite or [], device or []
    try:
        load_rack(rack_file)
        paths = suite_paths(list(suite))
    except ConfigError as exc:
        raise _config_exit(exc) from None
    args = [str(p) for p in paths] + [f"--rack={rack_file.resolve()}"]
    args += [a for d in device for a in ("--device", d)]
    args += ["--limits", str(limits.resolve())] if limits else []
    args += ["-k", keyword] if keyword else []
    args += ["-m", marker] if marker else []
    code, listing = collect(args)
    if code not in (0, 5) or listing.errors:
        for error in listing.errors:
            typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_USAGE)
    if as_json:
        typer.echo(json.dumps([t.__dict__ for t in listing.tests], indent=2))
    else:
        render(listing, Console(highlight=False))
    raise typer.Exit(EXIT_PASSED if listing.tests else EXIT_USAGE)


# -- run -----------------------------------------------------------------------------


def _apply_station(config: Any, suites: list[str], results_dir: Path | None, formats: list[str]) -> list[str]:
    """Fill in what the station file sets (suites, results folder and store, reports); options win.

    Returns the suites to run.
    """
    from rackval.results.exporters import known

    station = config.station
    if results_dir is not None:
        config.results_dir = results_dir
    if station is None:
        return suites
    if results_dir is None and station.results_dir:  # the station's folder wins over $RACKVAL_RESULTS_DIR
        base = station.source.parent if station.source else Path.cwd()
        config.results_dir = base / station.results_dir
    config.results_db = config.results_db or station.results_db
    known(list(station.report_formats), station.where(("report_formats",)) + ": report_formats")
    formats += [f for f in station.report_formats if f not in formats]
    return suites or list(station.default_suites)


def _terminal_stream() -> TextIO:
    """A private duplicate of stdout: pytest's capture (of fd 1) does not reach it."""
    sys.stdout.flush()
    return os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")


def _start_prompts(rack: Any, station: Any, answers: Path | None, operator: str | None):
    """The station's start-of-run prompts: operator badge, rack serial. Returns the operator id."""
    from rackval.prompts import (
        NotInteractive,
        Operator,
        channel_from_env,
        env_non_interactive,
        load_answers,
        terminal_ask,
    )

    operator_prompt = bool(station and station.operator_prompt)
    scan_rack_serial = bool(station and station.scan_rack_serial)
    if not (scan_rack_serial or (operator_prompt and not operator)):
        return operator

    def ask(text: str) -> str:
        channel = channel_from_env()  # a run started by the station's web page
        if channel is not None:
            return channel(text)
        if env_non_interactive() or not sys.stdin.isatty():
            raise NotInteractive
        return terminal_ask(sys.stdin, sys.stdout)(text)

    who = Operator(answers=load_answers(answers) if answers else None, ask=ask)
    if operator_prompt and not operator:
        operator = who.scan("Scan your badge", key="operator-badge", what="operator badge")
    if scan_rack_serial:
        who.scan(
            "Scan the rack serial label",
            key="rack-serial",
            expected=rack.rack.serial,
            what="rack serial",
        )
    return operator


@app.command()
def restore(
    rack_file: Annotated[Path, typer.Argument(help="rack file of the rack to put back")],
    results_dir: Annotated[Path, typer.Option(help="results directory whose journals to read")] = Path(
        "results"
    ),
    endpoints: Annotated[
        Path | None, typer.Option(help="a running simulated rack (`rackval sim --ready-file`)")
    ] = None,
) -> None:
    """Put a rack back in its safe state after a run that could not (crash, SIGKILL, power cut)."""
    from rackval.restore import restore_from_files

    try:
        actions = restore_from_files(rack_file, results_dir, endpoints)
    except ConfigError as exc:
        raise _config_exit(exc) from None
    for action in actions:
        typer.echo(
            f"{'restored' if action.ok else 'FAILED  '}  {action.description}"
            + (f": {action.detail}" if action.detail else "")
        )
    failed = [a for a in actions if not a.ok]
    typer.echo(f"{len(actions) - len(failed)} restored, {len(failed)} failed")
    raise typer.Exit(EXIT_UNREACHABLE if failed else EXIT_PASSED)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    rack_file: Annotated[Path, typer.Argument(help="rack file of the rack under test")],
    sim: Annotated[bool, typer.Option("--sim", help="run against a simulated rack")] = False,
    scenario: Annotated[
        list[Path] | None,
        typer.Option(help="fault scenario for the simulated rack (repeatable; implies --sim)"),
    ] = None,
    suite: Annotated[
        list[str] | None,
        typer.Option(help="suite to run (repeatable; default: the station's, or all)"),
    ] = None,
    device: Annotated[
        list[str] | None, typer.Option(help="only test this device's items (repeatable)")
    ] = None,
    keyword: Annotated[str | None, typer.Option("-k", help="pytest -k expression")] = None,
    marker: Annotated[str | None, typer.Option("-m", help="pytest -m expression")] = None,
    limits: Annotated[Path | None, typer.Option(help="limits file (default: the rack's)")] = None,
    station: Annotated[
        Path | None, typer.Option(help="station file (default: the rack file's station:)")
    ] = None,
    answers: Annotated[
        Path | None, typer.Option(help="answers to operator prompts (non-interactive runs)")
    ] = None,
    operator: Annotated[
        str | None, typer.Option(envvar="RACKVAL_OPERATOR", help="operator id (badge)")
    ] = None,
    results_dir: Annotated[
        Path | None, typer.Option(help="where results are written (default: the station's)")
    ] = None,
    results_db: Annotated[
        str | None,
        typer.Option(help="results database URL, e.g. postgresql+psycopg://host/db (default: SQLite)"),
    ] = None,
    report: Annotated[
        list[str] | None, typer.Option(help="also write a report: html, junit or ocptv (repeatable)")
    ] = None,
    retest: Annotated[
        str | None, typer.Option(metavar="RUN", help="run only what failed or errored in run RUN")
    ] = None,
    preflight: Annotated[bool, typer.Option(help="check every device before the suites (pre-flight)")] = True,
    run_id: Annotated[
        str | None, typer.Option(help="the run's id (default: a new one; a factory dispatch sets it)")
    ] = None,
    endpoints: Annotated[
        Path | None,
        typer.Option(help="test a simulated rack already running (`rackval sim --ready-file FILE`)"),
    ] = None,
    plain: Annotated[bool, typer.Option(help="plain lines even on a terminal")] = False,
    pytest_output: Annotated[
        bool, typer.Option(help="show pytest's own output (also with -v after --)")
    ] = False,
) -> None:
    """Run the acceptance suites against a rack; arguments after -- go to pytest (-x, -v...)."""
    import pytest

    from rackval.config import build_run_config
    from rackval.preflight import PreflightPlugin
    from rackval.progress import Progress
    from rackval.prompts import PromptError
    from rackval.results.exporters import exporters, known
    from rackval.suites import suite_paths

    scenario, suite, device = scenario or [], suite or [], device or []
    formats = list(dict.fromkeys(report or []))
    try:
        known(formats, "--report")
        if answers is not None and not answers.is_file():
            raise ConfigError(f"--answers: {answers}: file not found")
        config = build_run_config(
            rack_file,
            limits=limits,
            station_file=station,
            scenarios=list(scenario),
            simulate=sim,
            endpoints_file=endpoints,
            devices=list(device),
            results_db=results_db,
            retest=retest,
            run_id=run_id,
            answers=answers,
            command_line=shlex.join(["rackval", *sys.argv[1:]]),
        )
        paths = suite_paths(_apply_station(config, list(suite), results_dir, formats))
        config.operator = _start_prompts(config.rack, config.station, answers, operator) or config.operator
    except ConfigError as exc:
        raise _config_exit(exc) from None
    except PromptError as exc:
        wrong_rack = "expected" in str(exc) and "rack serial" in str(exc)
        raise _error(str(exc), EXIT_UNREACHABLE if wrong_rack else EXIT_USAGE) from None

    for fmt in formats:
        config.reports[fmt] = config.results_dir / "reports" / f"{config.run_id}.{exporters()[fmt].extension}"
    args = [str(p) for p in paths]
    args += ["-k", keyword] if keyword else []
    args += ["-m", marker] if marker else []
    engineer = pytest_output or any(a in VERBOSE_FLAGS for a in ctx.args)
    args += ["-p", "no:cacheprovider", *ctx.args]

    stream = _terminal_stream()
    results_where = str(config.results_dir / "results.db")
    if config.results_db:
        from rackval.results.store import redact

        results_where = redact(config.results_db)
    progress = Progress(
        stream,
        "banner" if engineer else ("plain" if plain else None),
        quiet_pytest=not engineer,
        reports=[str(t) for t in config.reports.values()],
        results=results_where,
    )
    plugins: list[object] = [config, progress]
    if preflight:
        plugins.append(PreflightPlugin(on_result=progress.on_preflight))
    try:
        code = int(pytest.main(args, plugins=plugins))
    finally:
        stream.flush()
    raise typer.Exit(exit_code(code, progress))


def exit_code(pytest_code: int, progress: Any = None) -> int:
    """rackval's exit code for pytest's (see the module docstring)."""
    from rackval.preflight import PYTEST_EXIT_NOT_READY

    if pytest_code == PYTEST_EXIT_NOT_READY:
        return EXIT_UNREACHABLE
    if progress is not None and progress.interrupted:
        return EXIT_INTERRUPTED
    if progress is not None and progress.collection_errors:
        return EXIT_USAGE
    return {
        0: EXIT_PASSED,
        1: EXIT_FAILED,
        2: EXIT_INTERRUPTED,
        3: EXIT_INTERNAL,
        4: EXIT_USAGE,
        5: EXIT_USAGE,  # the selection matched no test
    }.get(pytest_code, EXIT_INTERNAL)


# -- results (from rackval.results, when installed) ------------------------------------


def _mount_results() -> None:
    try:
        from rackval.results.cli import report_command, results_app
    except ImportError:
        return
    app.add_typer(results_app, name="results", help="Browse stored runs.")

    @app.command()
    def report(
        run_id: Annotated[str, typer.Argument(help="run id (or a unique prefix)")],
        format: Annotated[str, typer.Option("--format", help="html, junit or ocptv")] = "html",
        output: Annotated[Path | None, typer.Option(help="file to write")] = None,
        results_db: Annotated[
            str | None, typer.Option(envvar="RACKVAL_RESULTS_DB", help="results database URL")
        ] = None,
        results_dir: Annotated[
            Path, typer.Option(envvar="RACKVAL_RESULTS_DIR", help="where results.db lives")
        ] = Path("results"),
    ) -> None:
        """Export a stored run as an HTML, JUnit XML or OCP TV report."""
        written = report_command(run_id, format, output, results_db, results_dir)
        typer.echo(f"report written to {written}")


_mount_results()


def _normalise_argv(argv: list[str]) -> list[str]:
    """Accept ``--sim SCENARIO.yaml`` as the issue's shorthand for ``--sim --scenario FILE``."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out += argv[i:]
            break
        if arg == "--sim" and i + 1 < len(argv) and argv[i + 1].endswith((".yaml", ".yml")):
            out += ["--scenario", argv[i + 1]]
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def main() -> None:
    argv = _normalise_argv(sys.argv[1:])
    try:
        app(args=argv, prog_name="rackval")
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


def _mount_station() -> None:
    try:
        from rackval.web.cli import station_app
    except ImportError:  # the web dependencies are not installed
        return
    from rackval.factory.cli import worker

    station_app.command("worker")(worker)
    app.add_typer(station_app, name="station", help="The test station: its web page and its factory worker.")


def _mount_factory() -> None:
    from rackval.factory.cli import dispatch, factory_app

    app.command("dispatch")(dispatch)
    app.add_typer(factory_app, name="factory", help="A factory of stations: status, simulated factory.")


_mount_station()
_mount_factory()
