"""Pre-flight: is the rack on the bench the rack of the rack file, and can we talk to it?

For every device, concurrently: is it *reachable* (does it answer at all), do its
*credentials* work, and does its *identity* (model, serial, firmware...) match
the rack file. ``rackval doctor`` prints the result as a table; ``rackval run``
does the same check first and stops before the suites when the rack is not
ready (wrong rack connected, a device off, a bad password) rather than failing
hundreds of tests one timeout at a time.

What "identity" means differs per device kind: the kind (:mod:`rackval.kinds`)
says how to read it and what the rack file expects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from drivers.errors import (
    DeviceAuthError,
    DeviceError,
    DeviceTimeout,
    DeviceUnreachable,
    SessionDropped,
)
from rackval.devices import DeviceRegistry, Overlay
from rackval.errors import ConfigError
from rackval.items import devices_used
from rackval.model import Rack

# pytest exit status the pre-flight plugin ends a session with; the CLI maps it to
# its own "could not reach the rack" exit code (pytest's 0-5 are taken).
PYTEST_EXIT_NOT_READY = 43

NO_ANSWER_ERRORS = (DeviceTimeout, DeviceUnreachable, SessionDropped, OSError)


@dataclass(frozen=True)
class DeviceCheck:
    """The pre-flight result of one device; ``None`` means not checked (an earlier step failed)."""

    device: str
    kind: str
    endpoint: str
    reachable: bool | None
    credentials: bool | None
    identity: bool | None
    problem: str = ""  # one line a technician can act on; empty when ready
    reported: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return bool(self.reachable and self.credentials and self.identity)


@dataclass(frozen=True)
class Readiness:
    checks: list[DeviceCheck]

    @property
    def ready(self) -> bool:
        return all(c.ready for c in self.checks)

    @property
    def problems(self) -> list[str]:
        return [f"{c.device}: {c.problem}" for c in self.checks if not c.ready]


def _identity_mismatches(expected: dict[str, Any], reported: dict[str, Any]) -> list[str]:
    out = []
    for key, want in expected.items():
        if want is None:
            continue
        got = reported.get(key)
        if got != want:
            out.append(f"{key} is {got!r}, the rack file expects {want!r}")
    return out


def check_device(devices: DeviceRegistry, name: str) -> DeviceCheck:
    """Reachable, credentials, identity of one device (rack or station), as its kind reads them."""
    entry = devices.entry(name)
    base = {"device": name, "kind": entry.kind.name}
    try:
        endpoint = devices.endpoint_text(name)
        devices.target(name)  # the simulated rack may not simulate it; a reference may not resolve
    except ConfigError as exc:
        endpoint = entry.kind.endpoint_text(entry.spec, {})
        return DeviceCheck(
            **base, endpoint=endpoint, reachable=None, credentials=False, identity=None, problem=str(exc)
        )
    base["endpoint"] = endpoint
    try:
        reported = entry.kind.identity(devices.driver(name))
    except DeviceAuthError as exc:
        return DeviceCheck(
            **base,
            reachable=True,
            credentials=False,
            identity=None,
            problem=f"credentials rejected ({exc.detail or exc.operation}); check the secrets "
            "the rack file names for it",
        )
    except ConfigError as exc:
        return DeviceCheck(**base, reachable=None, credentials=False, identity=None, problem=str(exc))
    except NO_ANSWER_ERRORS as exc:
        detail = exc.detail if isinstance(exc, DeviceError) else str(exc)
        return DeviceCheck(
            **base,
            reachable=False,
            credentials=None,
            identity=None,
            problem=f"no answer from {endpoint} ({detail or type(exc).__name__}); "
            "is it powered, cabled and at that address?",
        )
    except DeviceError as exc:
        return DeviceCheck(
            **base,
            reachable=True,
            credentials=None,
            identity=False,
            problem=f"answered, but {exc.kind} during {exc.operation}: {exc.detail}",
        )
    mismatches = _identity_mismatches(entry.kind.expected(entry.spec), reported)
    if mismatches:
        return DeviceCheck(
            **base,
            reachable=True,
            credentials=True,
            identity=False,
            problem="identity does not match the rack file: "
            + "; ".join(mismatches)
            + " (is this the right rack?)",
            reported=reported,
        )
    return DeviceCheck(**base, reachable=True, credentials=True, identity=True, reported=reported)


def check_devices(devices: DeviceRegistry, names: Iterable[str] | None = None) -> Readiness:
    """Check ``names`` (default: every device of the registry) concurrently."""
    names = list(names) if names is not None else list(devices.entries)
    if not names:
        return Readiness([])
    with ThreadPoolExecutor(max_workers=min(32, len(names)), thread_name_prefix="preflight") as pool:
        return Readiness(list(pool.map(lambda n: check_device(devices, n), names)))


def check_rack(rack: Rack, overlay: Overlay | None = None, devices: Iterable[str] | None = None) -> Readiness:
    """Check a rack and its station's instruments with drivers of its own (``rackval doctor``)."""
    from rackval.station import station_for_rack

    registry = DeviceRegistry(rack, station_for_rack(rack) if not devices else None, overlay)
    try:
        return check_devices(registry, devices)
    finally:
        registry.close()


# -- presentation --------------------------------------------------------------

MARK = {True: "ok", False: "FAIL", None: "-"}


def table_rows(readiness: Readiness) -> list[list[str]]:
    """Rows of the doctor table, in the order of :data:`COLUMNS`."""
    return [
        [
            c.device,
            c.kind,
            c.endpoint,
            MARK[c.reachable],
            MARK[c.credentials],
            MARK[c.identity],
            c.problem,
        ]
        for c in readiness.checks
    ]


COLUMNS = ["device", "kind", "endpoint", "reachable", "credentials", "identity", "problem"]


def render(readiness: Readiness, console: Any) -> None:
    """Print the readiness table on a rich console (plain text when it is not a terminal)."""
    if console.is_terminal:
        from rich.table import Table

        table = Table(title="pre-flight", show_lines=False)
        for col in COLUMNS:
            table.add_column(col, overflow="fold")
        style = {"ok": "green", "FAIL": "bold red", "-": "dim"}
        for row in table_rows(readiness):
            cells = row[:3] + [f"[{style[m]}]{m}[/]" for m in row[3:6]] + [row[6]]
            table.add_row(*cells)
        console.print(table)
    else:
        for row in table_rows(readiness):
            console.print(
                f"{row[0]}: {row[1]} at {row[2]}: reachable={row[3]} credentials={row[4]} "
                f"identity={row[5]}" + (f": {row[6]}" if row[6] else ""),
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    verdict = "ready" if readiness.ready else f"NOT READY ({len(readiness.problems)} device(s))"
    console.print(f"rack {verdict}", markup=False, highlight=False)


# -- the quick check before a run (pytest plugin object) -------------------------


class PreflightPlugin:
    """Before the first test of ``rackval run``: check the devices the run will use.

    Registered by the CLI. When the rack is not ready, the session ends with
    :data:`PYTEST_EXIT_NOT_READY` and ``on_result`` has been given the readiness.
    """

    name = "rackval-preflight"

    def __init__(self, on_result: Callable[[Readiness], None] | None = None) -> None:
        self.on_result = on_result
        self.readiness: Readiness | None = None

    @pytest.fixture(scope="session", autouse=True)
    def _rackval_preflight(self, request: pytest.FixtureRequest) -> None:
        from rackval.plugin import rack_run

        state = rack_run(request.config)
        if state is None:
            return
        session = request.getfixturevalue("rack")
        used = devices_used(request.session.items) or state.config.devices
        names = sorted(d for d in used if d in session.rack.devices) or session.devices.names("rack")
        if any("instruments" in getattr(item, "fixturenames", ()) for item in request.session.items):
            request.getfixturevalue("instruments")
            names += session.devices.names("station")
        self.readiness = check_devices(session.devices, names)
        if self.on_result is not None:
            self.on_result(self.readiness)
        if not self.readiness.ready:
            pytest.exit(
                "rack not ready: " + "; ".join(self.readiness.problems),
                returncode=PYTEST_EXIT_NOT_READY,
            )
