"""Where the acceptance suites are, and which ones a run selects."""

from __future__ import annotations

from pathlib import Path

import suites as suites_pkg
from rackval.errors import ConfigError


def suites_root() -> Path:
    return Path(suites_pkg.__file__).resolve().parent


def available_suites() -> list[str]:
    root = suites_root()
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and any(p.glob("test_*.py")) and not p.name.startswith("_")
    )


def suite_paths(names: list[str]) -> list[Path]:
    """Paths of the named suites (all suites when ``names`` is empty)."""
    known = available_suites()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"--suite: no suite named {', '.join(unknown)} (known: {', '.join(known)})")
    return [suites_root() / n for n in (names or known)]
