"""``rackval results list|show|history|status`` and ``rackval report`` (mounted by rackval.cli)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rackval.results.exporters import export, exporters
from rackval.results.store import (
    ResultsStore,
    RunRecord,
    StoreError,
    dumps_limit,
    status_outcome,
)

results_app = typer.Typer(help="Browse stored runs.", no_args_is_help=True)

_STYLE = {"pass": "green", "fail": "red", "error": "yellow", "aborted": "yellow", "running": "cyan"}
_TEST_STYLE = {"passed": "green", "failed": "red", "error": "yellow", "skipped": "dim"}

DbOption = Annotated[
    str | None,
    typer.Option("--results-db", envvar="RACKVAL_RESULTS_DB", help="results database URL"),
]
DirOption = Annotated[
    Path,
    typer.Option("--results-dir", envvar="RACKVAL_RESULTS_DIR", help="where results.db lives"),
]


def open_store(results_db: str | None, results_dir: Path | str) -> ResultsStore:
    """Open the store, turning a problem into a one-line CLI error."""
    if results_db is None and not (Path(results_dir) / "results.db").exists():
        raise typer.BadParameter(
            f"no results store at {Path(results_dir) / 'results.db'} (give --results-dir or --results-db)"
        )
    try:
        return ResultsStore.open(results_db, results_dir)
    except StoreError as exc:
        raise typer.BadParameter(str(exc)) from None


def _console() -> Console:
    return Console(width=int(os.environ.get("COLUMNS", "160")))


def _runs_table(runs: list[RunRecord], title: str) -> Table:
    table = Table(title=title)
    for col in ("run", "started (UTC)", "rack", "outcome", "station", "operator", "retest of"):
        table.add_column(col)
    for r in runs:
        table.add_row(
            r.run_id,
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            escape(r.rack_serial),
            f"[{_STYLE.get(r.outcome, '')}]{r.outcome}[/]",
            escape(r.station_id),
            escape(r.operator_id),
            r.retest_of or "",
        )
    return table


@results_app.command("list")
def list_command(
    serial: Annotated[str | None, typer.Option("--serial", help="only this rack")] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="pass, fail, error, aborted or running")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 20,
    results_db: DbOption = None,
    results_dir: DirOption = Path("results"),
) -> None:
    """Recent runs, newest first."""
    store = open_store(results_db, results_dir)
    try:
        runs = store.list_runs(serial=serial, outcome=outcome, limit=limit)
    except StoreError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    _console().print(_runs_table(runs, "Runs"))


@results_app.command("history")
def history_command(
    serial: Annotated[str, typer.Argument(help="rack serial")],
    results_db: DbOption = None,
    results_dir: DirOption = Path("results"),
) -> None:
    """All runs of one rack, newest first."""
    store = open_store(results_db, results_dir)
    try:
        runs = store.history(serial)
    finally:
        store.close()
    _console().print(_runs_table(runs, f"History of rack {serial}"))


@results_app.command("status")
def status_command(
    serial: Annotated[str, typer.Argument(help="rack serial")],
    results_db: DbOption = None,
    results_dir: DirOption = Path("results"),
) -> None:
    """A rack's status: the latest result of every test across its runs and retests."""
    store = open_store(results_db, results_dir)
    try:
        status = store.rack_status(serial)
    finally:
        store.close()
    overall = status_outcome(status.values())
    console = _console()
    console.print(f"rack {escape(serial)}: [{_STYLE.get(overall, '')}]{overall.upper()}[/]")
    table = Table()
    for col in ("test", "item", "outcome", "run", "message"):
        table.add_column(col)
    for nodeid, t in sorted(status.items()):
        if t.outcome != "passed":
            table.add_row(
                *map(escape, (nodeid, t.item_id or "", t.outcome, t.run_id or "")),
                escape((t.message or "")[:120]),
            )
    passed = sum(t.outcome == "passed" for t in status.values())
    console.print(f"{passed} of {len(status)} tests pass at their latest run")
    if table.row_count:
        console.print(table)


@results_app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="run id (or a unique prefix)")],
    results_db: DbOption = None,
    results_dir: DirOption = Path("results"),
) -> None:
    """A run's summary and its failures."""
    store = open_store(results_db, results_dir)
    try:
        report = store.report(run_id)
        retests = store.retests_of(report.run.run_id)
    except StoreError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    run = report.run
    console = _console()
    style = _STYLE.get(run.outcome, "")
    console.print(f"[bold {style}]{run.outcome.upper()}[/]  rack {escape(run.rack_serial)}")
    info = Table.grid(padding=(0, 2))
    rows = [
        ("run", run.run_id),
        ("rack", f"{run.rack_serial} ({run.rack_model}, plan {run.plan_version})"),
        ("started", run.started_at.isoformat()),
        ("ended", run.ended_at.isoformat() if run.ended_at else "-"),
        ("station / operator", f"{run.station_id} / {run.operator_id}"),
        ("suites", f"{', '.join(run.suites)} (version {run.suite_version})"),
        ("limits", f"{run.limits_file} (version {run.limits_version})"),
        ("rackval", run.rackval_version),
    ]
    if run.retest_of:
        rows.append(("retest of", run.retest_of))
    if retests:
        rows.append(("retested by", ", ".join(r.run_id for r in retests)))
    if run.scenario:
        rows.append(("scenario", run.scenario))
    counts = report.counts()
    rows.append(("tests", ", ".join(f"{v} {k}" for k, v in counts.items())))
    rows.append(("measurements", str(len(report.measurements))))
    for k, v in rows:
        info.add_row(f"[bold]{k}[/]", escape(v))
    console.print(info)
    if report.failures or report.unfinished_nodes():
        table = Table(title="Failures")
        for col in ("item", "outcome", "test", "message"):
            table.add_column(col)
        for t in report.failures:
            style = _TEST_STYLE.get(t.outcome, "")
            table.add_row(
                escape(t.item_id or ""),
                f"[{style}]{t.outcome}[/]",
                escape(t.nodeid),
                escape(t.message or ""),
            )
        for nodeid in report.unfinished_nodes():
            item = report.by_node[nodeid][0].item
            table.add_row(escape(item), "unfinished", escape(nodeid), "run stopped here")
        console.print(table)
    failed_ms = [m for m in report.measurements if m.outcome == "fail"]
    if failed_ms:
        table = Table(title="Measurements out of limits")
        for col in ("item", "name", "value", "limit"):
            table.add_column(col)
        for m in failed_ms:
            value = f"{m.value} {m.units}".strip()
            table.add_row(*map(escape, (m.item, m.name, value, dumps_limit(m.limit))))
        console.print(table)


def report_command(
    run_id: str,
    format: str = "html",  # the CLI option's name (shadows the builtin here only)
    output: Path | None = None,
    results_db: str | None = None,
    results_dir: Path | str = "results",
) -> Path:
    """Export a stored run as html, junit or ocptv; returns the file written.

    Default output: ``<results_dir>/reports/<run_id>.<ext>``.
    """
    if format not in exporters():
        raise typer.BadParameter(f"--format must be one of {', '.join(exporters())}, not {format!r}")
    store = open_store(results_db, results_dir)
    try:
        full = store.resolve_run_id(run_id)
        ext = exporters()[format].extension
        target = Path(output) if output else Path(results_dir) / "reports" / f"{full}.{ext}"
        return export(store, full, format, target)
    except StoreError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
