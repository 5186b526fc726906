"""The ``rackval`` command: validate, simulate and run acceptance suites."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from rackval.errors import ConfigError

app = typer.Typer(
    name="rackval",
    help="Rack validation: acceptance suites for PDUs, switches and instruments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Exit codes of `rackval run` (documented in README.md)
EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130


def _error(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@app.command()
def validate(rack_file: Annotated[Path, typer.Argument(help="rack file to check")]) -> None:
    """Check a rack file (and the limits file it names); print every problem with file:line."""
    from rackval.limits import load_limits
    from rackval.model import load_rack, resolve_include

    try:
        rack = load_rack(rack_file)
        limits = load_limits(
            resolve_include(rack.base_dir, rack.limits, what=f"{rack_file.name}: limits")
        )
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
    scenario: Annotated[list[Path], typer.Option(help="fault scenario (repeatable)")] = [],
    ready_file: Annotated[Path | None, typer.Option(help="write the endpoints as JSON here")] = None,
) -> None:
    """Serve a simulated rack on 127.0.0.1 until Ctrl-C; prints each device's endpoint."""
    from simulators.rack import run

    try:
        raise typer.Exit(run(rack_file, list(scenario), ready_file))
    except ConfigError as exc:
        raise _error(str(exc)) from None


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run(
    ctx: typer.Context,
    rack_file: Annotated[Path, typer.Argument(help="rack file of the rack under test")],
    sim: Annotated[bool, typer.Option("--sim", help="run against a simulated rack")] = False,
    scenario: Annotated[
        list[Path], typer.Option(help="fault scenario for the simulated rack (repeatable; implies --sim)")
    ] = [],
    suite: Annotated[list[str], typer.Option(help="suite to run (repeatable; default: all)")] = [],
    device: Annotated[list[str], typer.Option(help="only test this device's items (repeatable)")] = [],
    limits: Annotated[Path | None, typer.Option(help="limits file (default: the rack file's)")] = None,
    results_dir: Annotated[Path, typer.Option(help="where results are written")] = Path("results"),
) -> None:
    """Run the acceptance suites against a rack; extra arguments go to pytest (-k, -m, -x...)."""
    import pytest

    from rackval.model import load_rack
    from rackval.suites import suite_paths

    try:
        load_rack(rack_file)  # a clear one-line error before pytest starts
        paths = suite_paths(list(suite))
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    args = [str(p) for p in paths]
    args += ["--rack", str(rack_file.resolve()), "--results-dir", str(results_dir)]
    if sim or scenario:
        args += ["--sim"] if not scenario else []
        for s in scenario:
            args += ["--sim", str(s.resolve())]
    for d in device:
        args += ["--device", d]
    if limits:
        args += ["--limits", str(limits.resolve())]
    args += ["-p", "no:cacheprovider", *ctx.args]
    code = pytest.main(args)
    raise typer.Exit(_exit_code(int(code)))


def _exit_code(pytest_code: int) -> int:
    return {
        0: EXIT_PASSED,
        1: EXIT_FAILED,
        2: EXIT_INTERRUPTED,
        3: EXIT_FAILED,
        4: EXIT_USAGE,
        5: EXIT_USAGE,
    }.get(pytest_code, EXIT_FAILED)


def _normalise_argv(argv: list[str]) -> list[str]:
    """Accept ``--sim SCENARIO.yaml`` as the issue's shorthand for ``--sim --scenario FILE``."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
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
