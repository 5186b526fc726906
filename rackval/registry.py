"""Find drivers and simulators by name through entry points.

A factory adds a vendor by installing a package that declares
``[project.entry-points."rackval.drivers"] my-pdu = "mypkg.pdu:MyPdu"``;
no fork of rackval needed.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from rackval.errors import ConfigError

DRIVERS = "rackval.drivers"
SIMULATORS = "rackval.simulators"


@cache
def _installed() -> Any:
    # each entry_points() call reads the metadata of every installed distribution
    # (~10 ms here); the simulated rack looked up its simulators once per device
    return entry_points()


def installed(group: str) -> dict[str, EntryPoint]:
    """The entry points of ``group`` by name (installed packages are read once per process)."""
    return {ep.name: ep for ep in _installed().select(group=group)}


def available(group: str) -> list[str]:
    return sorted(installed(group))


def load(group: str, name: str) -> Any:
    match = installed(group).get(name)
    if match is None:
        what = "driver" if group == DRIVERS else "simulator"
        raise ConfigError(
            f"no {what} named {name!r} is installed (known: {', '.join(available(group)) or 'none'})"
        )
    return match.load()
