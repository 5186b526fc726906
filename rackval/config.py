"""One run's configuration, built once: by ``rackval run`` from its options, or by the
pytest plugin from pytest's (``pytest --rack FILE --sim``).

``rackval run`` hands the :class:`RunConfig` to pytest as a plugin object
(``pytest.main(args, plugins=[config, ...])``); nothing is re-parsed from
argv and no file is loaded twice. Environment defaults live here only
(:data:`ENVIRONMENT`).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rackval.errors import ConfigError
from rackval.limits import LimitsFile, load_limits
from rackval.model import Rack, load_rack, resolve_include
from rackval.run import RunInfo

# setting -> (environment variable, default when it is unset)
ENVIRONMENT: dict[str, tuple[str, str | None]] = {
    "operator": ("RACKVAL_OPERATOR", "unknown"),
    "station_id": ("RACKVAL_STATION", None),
    "results_dir": ("RACKVAL_RESULTS_DIR", "results"),
    "results_db": ("RACKVAL_RESULTS_DB", None),
    "test_timeout": ("RACKVAL_TEST_TIMEOUT", "120"),
    "answers": ("RACKVAL_ANSWERS", None),
}


def env_default(setting: str) -> str | None:
    """The environment's value of ``setting``, or its built-in default."""
    variable, default = ENVIRONMENT[setting]
    return os.environ.get(variable) or default


@dataclass(eq=False)  # hashable by identity: pytest keeps it in its plugin set
class RunConfig:
    """Everything a run uses. ``rack`` is None for a session without a rack (station checks)."""

    rack: Rack | None
    limits_path: Path | None = None
    limits: LimitsFile | None = None
    station: Any = None  # rackval.station.Station
    scenarios: list[Path] = field(default_factory=list)
    simulate: bool = False
    endpoints_file: Path | None = None  # a simulated rack already running
    devices: set[str] = field(default_factory=set)  # only these devices' items
    results_dir: Path = Path("results")
    results_db: str | None = None
    reports: dict[str, Path] = field(default_factory=dict)  # format -> file
    retest: str | None = None
    answers: Path | None = None
    operator: str = "unknown"
    station_id: str = "unconfigured"
    test_timeout_s: float = 120.0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    command_line: str | None = None  # how the run was started, kept with it (default: pytest's argv)

    @property
    def station_file(self) -> Path | None:
        return self.station.source if self.station is not None else None

    def run_info(self) -> RunInfo:
        assert self.rack is not None and self.limits is not None
        return RunInfo(
            rack_serial=self.rack.rack.serial,
            rack_model=self.rack.rack.model,
            plan_version=self.rack.rack.plan_version,
            limits_file=str(self.limits_path),
            limits_version=self.limits.version,
            station_id=self.station_id,
            operator_id=self.operator,
            results_dir=self.results_dir,
            run_id=self.run_id,
        )


def build_run_config(
    rack_file: str | Path | None,
    *,
    limits: str | Path | None = None,
    station_file: str | Path | None = None,
    scenarios: list[Path] | None = None,
    simulate: bool = False,
    endpoints_file: str | Path | None = None,
    devices: list[str] | None = None,
    results_dir: str | Path | None = None,
    results_db: str | None = None,
    reports: dict[str, Path] | None = None,
    retest: str | None = None,
    answers: str | Path | None = None,
    operator: str | None = None,
    station_id: str | None = None,
    test_timeout_s: float | None = None,
    run_id: str | None = None,
    command_line: str | None = None,
) -> RunConfig:
    """Load and check the rack, limits and station files once; fill in the defaults."""
    from rackval.station import load_station, station_for_rack

    rack = load_rack(rack_file) if rack_file else None
    limits_path = limits_file = None
    if rack is not None:
        label = Path(rack_file).name
        limits_path = (
            Path(limits).resolve()
            if limits
            else resolve_include(rack.base_dir, rack.limits, what=f"{label}: limits")
        )
        limits_file = load_limits(limits_path)
        station = station_for_rack(rack, station_file)
        unknown = set(devices or []) - set(rack.devices)
        if unknown:
            raise ConfigError(f"--device: no device named {', '.join(sorted(unknown))} in {rack_file}")
    else:
        station = load_station(station_file) if station_file else None
    answers = answers or env_default("answers")
    config = RunConfig(
        rack=rack,
        limits_path=limits_path,
        limits=limits_file,
        station=station,
        scenarios=[Path(s).resolve() for s in scenarios or []],
        simulate=simulate or bool(scenarios),
        endpoints_file=Path(endpoints_file) if endpoints_file else None,
        devices=set(devices or []),
        results_dir=Path(results_dir or env_default("results_dir")),
        results_db=results_db or env_default("results_db"),
        reports=dict(reports or {}),
        retest=retest,
        answers=Path(answers) if answers else None,
        operator=operator or env_default("operator") or "unknown",
        station_id=station_id
        or env_default("station_id")
        or (station.station.id if station is not None else "unconfigured"),
        test_timeout_s=float(test_timeout_s or env_default("test_timeout")),
        command_line=command_line,
    )
    if run_id:
        config.run_id = run_id
    return config
