"""Where the acceptance suites are, and which ones a run selects.

A suite is a folder of pytest modules, found by path (``--suite path/to/folder``)
or by name through the entry-point group ``rackval.suites``
(``power = "suites.power"``: a package whose folder holds the tests). The
engine imports no suite; a suite declares its own options in its conftest.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from rackval.errors import ConfigError
from rackval.registry import installed

SUITES_GROUP = "rackval.suites"


@cache
def installed_suites() -> dict[str, Path]:
    """Suite name -> folder, for every installed suite."""
    found: dict[str, Path] = {}
    for ep in installed(SUITES_GROUP).values():
        spec = importlib.util.find_spec(ep.value)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"suite {ep.name}: {ep.value} is not an installed package")
        found[ep.name] = Path(next(iter(spec.submodule_search_locations))).resolve()
    return dict(sorted(found.items()))


def available_suites() -> list[str]:
    return list(installed_suites())


def suite_paths(names: list[str]) -> list[Path]:
    """Folders of the named suites (a name or a path to a folder; all installed ones when empty)."""
    known = installed_suites()
    paths, unknown = [], []
    for name in names or list(known):
        if name in known:
            paths.append(known[name])
        elif Path(name).is_dir() and any(Path(name).glob("test_*.py")):
            paths.append(Path(name).resolve())
        else:
            unknown.append(name)
    if unknown:
        raise ConfigError(f"--suite: no suite named {', '.join(unknown)} (known: {', '.join(known)})")
    return paths


def suite_of(node: Any) -> str:
    """The suite a collected test belongs to: its installed suite's name, else its folder's."""
    path = Path(node.path).resolve()
    for name, folder in installed_suites().items():
        if path.is_relative_to(folder):
            return name
    return path.parent.name
