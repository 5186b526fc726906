"""One registry of every device a run can talk to: the rack's and the station's bench.

Plain code, no pytest: the CLI (doctor, restore), the plugin's fixtures and
the tests all reach devices through it. A device's kind
(:mod:`rackval.kinds`) turns its file entry into a driver target; the driver
class is found by the entry's ``driver:`` name. Drivers are created on first
use, once per device, and share one asyncio loop thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.aio import LoopThread
from drivers.base import Target
from rackval import kinds, registry
from rackval.errors import ConfigError
from rackval.model import Rack
from rackval.secrets import resolve_secret

log = logging.getLogger("rackval")

Overlay = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Entry:
    """One device: its name, kind, file entry, and which file declared it."""

    name: str
    kind: kinds.DeviceKind
    spec: Any  # the validated rack-file device or station-file instrument
    base_dir: Path
    source: str  # "rack" or "station"


def rack_entries(rack: Rack) -> dict[str, Entry]:
    return {
        name: Entry(name, kinds.get(d.kind), d, rack.base_dir, "rack") for name, d in rack.devices.items()
    }


def station_entries(station: Any) -> dict[str, Entry]:
    if station is None:
        return {}
    base = station.source.parent if station.source else Path.cwd()
    return {
        name: Entry(name, kinds.get(spec.kind), spec, base, "station")
        for name, spec in station.instruments.items()
    }


def entry_target(entry: Entry, overlay: Mapping[str, Mapping[str, Any]] | None) -> Target:
    """The driver target of ``entry``, reached through the simulated rack when ``overlay`` is given."""
    endpoint: Mapping[str, Any] = {}
    if overlay:
        if entry.name not in overlay:
            raise ConfigError(f"{entry.name}: the simulated rack does not simulate this device")
        endpoint = overlay[entry.name]
    ctx = kinds.TargetContext(
        name=entry.name,
        base_dir=entry.base_dir,
        endpoint=endpoint,
        resolve=lambda ref, what: resolve_secret(ref, entry.base_dir, what=what),
    )
    return entry.kind.target(entry.spec, ctx)


def build_target(rack: Rack, name: str, overlay: Overlay | None = None) -> Target:
    """The target of rack device ``name`` (for tools and tests that drive one device directly)."""
    return entry_target(rack_entries(rack)[name], overlay)


def all_entries(rack: Rack | None, station: Any = None) -> dict[str, Entry]:
    """The rack's devices and the station's instruments, by name."""
    return {**(rack_entries(rack) if rack else {}), **station_entries(station)}


def import_drivers(rack: Rack, station: Any = None) -> None:
    """Import the driver of every device now (while the simulated rack starts, say).

    A driver that cannot be loaded is left to its device's first use, which
    reports it for that device.
    """
    for driver in sorted({e.spec.driver for e in all_entries(rack, station).values()}):
        try:
            registry.load(registry.DRIVERS, driver)
        except Exception as exc:  # reported where the device is first used
            log.debug("driver %s not imported ahead: %s", driver, exc)


class DeviceRegistry:
    """Drivers of the rack's devices and the station's instruments, by name."""

    def __init__(self, rack: Rack | None, station: Any = None, overlay: Overlay | None = None) -> None:
        self.rack = rack
        self.station = station
        self.overlay: Overlay = overlay or {}
        self.entries = all_entries(rack, station)
        self._drivers: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._device_locks: dict[str, threading.Lock] = {}
        self._loop: LoopThread | None = None

    @property
    def loop(self) -> LoopThread:
        with self._lock:
            if self._loop is None:
                self._loop = LoopThread()
            return self._loop

    def names(self, source: str | None = None) -> list[str]:
        return [n for n, e in self.entries.items() if source is None or e.source == source]

    def entry(self, name: str) -> Entry:
        try:
            return self.entries[name]
        except KeyError:
            where = f"rack {self.rack.rack.serial}" if self.rack else "the station"
            raise KeyError(f"no device named {name!r} in {where}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def target(self, name: str) -> Target:
        return entry_target(self.entry(name), self.overlay)

    def endpoint_text(self, name: str) -> str:
        entry = self.entry(name)
        return entry.kind.endpoint_text(entry.spec, self.overlay.get(name, {}))

    def _device_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._device_locks.setdefault(name, threading.Lock())

    def driver(self, name: str) -> Any:
        """The connected driver of ``name`` (created on first use)."""
        entry = self.entry(name)
        with self._device_lock(name):
            if name not in self._drivers:
                cls = registry.load(registry.DRIVERS, entry.spec.driver)
                self._drivers[name] = cls(self.target(name), self.loop)
            return self._drivers[name]

    def used(self) -> list[str]:
        return list(self._drivers)

    def close(self) -> list[str]:
        """Close every driver used (an instrument's close leaves it safe); the problems, never raises."""
        problems = []
        for name, drv in list(self._drivers.items()):
            try:
                drv.close()
            except Exception as exc:  # closing must not hide the run's results
                problems.append(f"{name}: {exc}")
                log.warning("%s: error while closing: %s", name, exc)
        self._drivers.clear()
        if self._loop is not None:
            self._loop.close()
            self._loop = None
        return problems


class Bench:
    """The station's instruments of a registry (what the ``instruments`` fixture gives tests)."""

    def __init__(self, devices: DeviceRegistry) -> None:
        self.devices = devices
        self.station = devices.station

    def __getitem__(self, name: str) -> Any:
        if name not in self.devices.names("station"):
            where = (
                f"station {self.station.station.id}"
                if self.station is not None
                else "this run (no station file)"
            )
            raise KeyError(f"no instrument named {name!r} in {where}")
        return self.devices.driver(name)

    def __contains__(self, name: object) -> bool:
        return name in self.devices.names("station")

    def target(self, name: str) -> Target:
        return self.devices.target(name)
