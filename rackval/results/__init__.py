"""Results: every test outcome and measurement of a run, stored as it happens, and exported.

- :mod:`rackval.results.schema`: the tables (SQLAlchemy Core) and their version.
- :mod:`rackval.results.store`: writing records one committed transaction at a time; queries.
- :mod:`rackval.results.plugin`: the pytest plugin that feeds the store during a run.
- :mod:`rackval.results.junit`, :mod:`~rackval.results.ocptv`, :mod:`~rackval.results.html`:
  exporters of a stored run.
- :mod:`rackval.results.cli`: ``rackval results list|show`` and ``rackval report``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rackval.results.store import ResultsStore

FORMATS = ("junit", "ocptv", "html")


def export(store: ResultsStore, run_id: str, fmt: str, target: Path) -> Path:
    """Write a stored run as ``fmt`` (junit, ocptv, html) to ``target``."""
    report = store.report(run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "junit":
        from rackval.results.junit import write_junit

        write_junit(report, target)
    elif fmt == "ocptv":
        from rackval.results.ocptv import write_ocptv

        write_ocptv(report, target)
    elif fmt == "html":
        from rackval.results.html import write_html

        write_html(report, target)
    else:
        raise ValueError(f"unknown report format {fmt!r} (junit, ocptv, html)")
    return target
