"""Pre-flight: is the rack on the bench the rack of the rack file, and can we talk to it?

For every device, concurrently: is it *reachable* (does it answer at all), do its
*credentials* work, and does its *identity* (model, serial, firmware...) match
the rack file. ``rackval doctor`` prints the result as a table; ``rackval run``
does the same check first and stops before the suites when the rack is not
ready (wrong rack connected, a device off, a bad password) rather than failing
hundreds of tests one timeout at a time.

What "identity" means differs per device kind: :data:`IDENTITY` maps a kind to
how to read it and what the rack file expects, so adding a kind is one entry.
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
from rackval.errors import ConfigError
from rackval.model import Rack
from rackval.session import RackSession
from rackval.targets import Overlay

# pytest exit status the pre-flight plugin ends a session with; the CLI maps it to
# its own "could not reach the rack" exit code (pytest's 0-5 are taken).
PYTEST_EXIT_NOT_READY = 43

NO_ANSWER_ERRORS = (DeviceTimeout, DeviceUnreachable, SessionDropped, OSError)


@dataclass(frozen=True)
class KindIdentity:
    """How to read a device kind's identity and what its rack-file entry expects."""

    read: Callable[[Any], dict[str, Any]]  # driver -> reported fields
    expected: Callable[[Any], dict[str, Any]]  # rack-file device -> expected fields (None: unchecked)


def _expected_fields(device: Any) -> dict[str, Any]:
    return device.expected.model_dump()


def _read_pdu(driver: Any) -> dict[str, Any]:
    ident = driver.identity()
    return {
        "model": ident.model,
        "serial": ident.serial,
        "firmware": ident.firmware,
        "outlets": ident.outlet_count,
        "phases": ident.phase_count,
    }


def _expected_pdu(device: Any) -> dict[str, Any]:
    return {**_expected_fields(device), "outlets": device.outlets, "phases": device.phases}


def _read_model_serial_firmware(driver: Any) -> dict[str, Any]:
    ident = driver.identity()
    return {
        "model": getattr(ident, "model", None),
        "serial": getattr(ident, "serial", None),
        "firmware": getattr(ident, "firmware", None),
    }


IDENTITY: dict[str, KindIdentity] = {
    "pdu": KindIdentity(_read_pdu, _expected_pdu),
    "switch": KindIdentity(_read_model_serial_firmware, _expected_fields),
    "instrument": KindIdentity(_read_model_serial_firmware, _expected_fields),
}


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


def check_device(session: RackSession, name: str) -> DeviceCheck:
    """Reachable, credentials, identity of one rack device, through the session's driver."""
    device = session.rack.devices[name]
    kind = IDENTITY.get(device.kind)
    if kind is None:
        return DeviceCheck(
            device=name,
            kind=device.kind,
            endpoint=_endpoint(session, name),
            reachable=None,
            credentials=None,
            identity=None,
            problem=f"no pre-flight check known for device kind {device.kind!r}",
        )
    return _check(
        name, device.kind, _endpoint(session, name), lambda: session.driver(name), kind, kind.expected(device)
    )


def check_instrument(bench: Any, name: str) -> DeviceCheck:
    """The same three checks for a station instrument (``bench``: station_plugin.StationInstruments)."""
    spec = bench.station.instruments[name]
    try:
        endpoint = bench.target(name).options["resource"]
    except ConfigError as exc:
        return DeviceCheck(name, "instrument", spec.resource, None, None, None, problem=str(exc))
    return _check(
        name, "instrument", endpoint, lambda: bench[name], IDENTITY["instrument"], spec.expected.model_dump()
    )


def _check(
    name: str, kind_name: str, endpoint: str, driver: Callable[[], Any], kind: KindIdentity, expected: dict
) -> DeviceCheck:
    base = {"device": name, "kind": kind_name, "endpoint": endpoint}
    try:
        reported = kind.read(driver())
    except DeviceAuthError as exc:
        return DeviceCheck(
            **base,
            reachable=True,
            credentials=False,
            identity=None,
            problem=f"credentials rejected ({exc.detail or exc.operation}); check the secrets "
            "the rack file names for it",
        )
    except ConfigError as exc:  # a credential reference that does not resolve
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
    mismatches = _identity_mismatches(expected, reported)
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


def _endpoint(session: RackSession, name: str) -> str:
    device = session.rack.devices[name]
    overlay = session.overlay.get(name, {})
    if "resource" in overlay or getattr(device, "resource", None):
        return str(overlay.get("resource", getattr(device, "resource", "")))
    host = overlay.get("host", getattr(device, "address", ""))
    port = overlay.get("port", getattr(device, "port", ""))
    return f"{host}:{port}"


def check_session(session: RackSession, devices: Iterable[str] | None = None, bench: Any = None) -> Readiness:
    """Check ``devices`` (default: all of the rack's) and the ``bench`` instruments concurrently."""
    names = list(devices) if devices else list(session.rack.devices)
    jobs: list[Callable[[], DeviceCheck]] = [lambda n=n: check_device(session, n) for n in names]
    if bench is not None:
        jobs += [lambda n=n: check_instrument(bench, n) for n in bench.station.instruments]
    if not jobs:
        return Readiness([])
    with ThreadPoolExecutor(max_workers=min(32, len(jobs)), thread_name_prefix="preflight") as pool:
        checks = list(pool.map(lambda job: job(), jobs))
    return Readiness(checks)


def check_rack(rack: Rack, overlay: Overlay | None = None, devices: Iterable[str] | None = None) -> Readiness:
    """Check a rack and its station's instruments with a session of its own (``rackval doctor``)."""
    from rackval.station import station_for_rack
    from rackval.station_plugin import StationInstruments

    session = RackSession(rack, overlay)
    station = station_for_rack(rack) if not devices else None
    bench = StationInstruments(station, overlay) if station is not None else None
    try:
        return check_session(session, devices, bench)
    finally:
        if bench is not None:
            bench.close()
        session.close()


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


def devices_used(items: Iterable[pytest.Item]) -> set[str]:
    """Devices the selected tests are parametrized over (only those need to be ready)."""
    from rackval.items import Item

    found: set[str] = set()
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        found |= {p.device for p in params.values() if isinstance(p, Item)}
    return found


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
        from rackval.plugin import rackval_state

        state = rackval_state(request.config)
        if state is None:
            return
        session = request.getfixturevalue("rack")
        used = devices_used(request.session.items) or state.devices
        devices = sorted(d for d in used if d in session.rack.devices)
        bench = None
        if any("instruments" in getattr(item, "fixturenames", ()) for item in request.session.items):
            bench = request.getfixturevalue("instruments")
        self.readiness = check_session(session, devices or None, bench)
        if self.on_result is not None:
            self.on_result(self.readiness)
        if not self.readiness.ready:
            pytest.exit(
                "rack not ready: " + "; ".join(self.readiness.problems),
                returncode=PYTEST_EXIT_NOT_READY,
            )
