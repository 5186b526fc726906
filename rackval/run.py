"""A run's identity and traceability: what was tested, where, by whom, against what."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rackval import __version__
from rackval.measurement import utcnow


@dataclass
class RunInfo:
    rack_serial: str
    rack_model: str
    plan_version: str
    limits_file: str
    limits_version: str
    station_id: str = "unconfigured"
    operator_id: str = "unknown"
    suites: list[str] = field(default_factory=list)
    suite_version: str = __version__
    rackval_version: str = __version__
    scenario: str | None = None  # set when run against a simulated rack
    retest_of: str | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    started_at: datetime = field(default_factory=utcnow)
    results_dir: Path = Path("results")
