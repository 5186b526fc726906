"""Report formats by name: the exporter registry (``--report NAME``, ``--NAME FILE``, ``rackval report``).

An exporter is registered under the entry-point group ``rackval.exporters``
as an :class:`Exporter`: its name, the file extension of its reports and its
writer ``(RunReport, Path) -> Path``. The writer may be given as
``"module:function"`` so that its imports (plotly, Jinja2...) are paid only
when a report of that format is written.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rackval.registry import installed

if TYPE_CHECKING:
    from rackval.results.store import ResultsStore

EXPORTERS_GROUP = "rackval.exporters"


@dataclass(frozen=True)
class Exporter:
    name: str
    extension: str
    writer: str | Callable[[Any, Path], Path]  # (RunReport, path) -> path, or "module:function"
    help: str = ""

    def write(self, report: Any, path: Path) -> Path:
        writer = self.writer
        if isinstance(writer, str):
            module, _, attr = writer.partition(":")
            writer = getattr(importlib.import_module(module), attr)
        return writer(report, path)


HTML = Exporter("html", "html", "rackval.results.html:write_html", "a self-contained HTML report")
JUNIT = Exporter("junit", "xml", "rackval.results.junit:write_junit", "a JUnit XML report")
OCPTV = Exporter("ocptv", "jsonl", "rackval.results.ocptv:write_ocptv", "OCP Test & Validation JSON Lines")


@cache
def exporters() -> dict[str, Exporter]:
    """Every installed exporter by name."""
    found = {}
    for ep in installed(EXPORTERS_GROUP).values():
        exporter = ep.load()
        found[exporter.name] = exporter
    return dict(sorted(found.items()))


def known(names: list[str], what: str) -> None:
    """Raise a ConfigError naming the unknown formats among ``names``."""
    from rackval.errors import ConfigError

    unknown = [n for n in names if n not in exporters()]
    if unknown:
        raise ConfigError(f"{what}: unknown format(s) {', '.join(unknown)} (known: {', '.join(exporters())})")


def export(store: ResultsStore, run_id: str, fmt: str, target: Path) -> Path:
    """Write stored run ``run_id`` as ``fmt`` to ``target``."""
    if fmt not in exporters():
        raise ValueError(f"unknown report format {fmt!r} ({', '.join(exporters())})")
    report = store.report(run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    exporters()[fmt].write(report, target)
    return target
