"""Find drivers and simulators by name through entry points.

A factory adds a vendor by installing a package that declares
``[project.entry-points."rackval.drivers"] my-pdu = "mypkg.pdu:MyPdu"``;
no fork of rackval needed.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from rackval.errors import ConfigError

DRIVERS = "rackval.drivers"
SIMULATORS = "rackval.simulators"


def available(group: str) -> list[str]:
    return sorted(ep.name for ep in entry_points(group=group))


def load(group: str, name: str) -> Any:
    matches = entry_points(group=group, name=name)
    if not matches:
        what = "driver" if group == DRIVERS else "simulator"
        raise ConfigError(
            f"no {what} named {name!r} is installed (known: {', '.join(available(group)) or 'none'})"
        )
    return next(iter(matches)).load()
