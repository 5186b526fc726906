"""Device kinds: everything rackval knows about one kind of device, as one registered unit.

A kind (PDU, switch, instrument, a factory's own...) is a :class:`DeviceKind`
registered under the entry-point group ``rackval.kinds``::

    [project.entry-points."rackval.kinds"]
    pdu = "rackval.kinds.pdu:KIND"

It owns the rack-file schema of its devices, how their settings become a
driver :class:`~drivers.base.Target`, how pre-flight reads their identity,
the test items it adds, the protocol its simulators speak (the latency key of
scenario files), and how a change it makes is undone. The engine asks the
kind; it knows none of them by name. docs/architecture.md lists where the
rest of a new kind goes (driver, simulator, suite: entry points too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.base import Secret, Target
from rackval.errors import ConfigError
from rackval.registry import installed

if TYPE_CHECKING:
    from rackval.items import Item
    from rackval.model import Rack

KINDS_GROUP = "rackval.kinds"

# What a kind's devices can be in the rack's plan (``DeviceKind.provides``):
FEEDS_OUTLETS = "outlets"  # its devices are named by the power map (``pdu-a/7``); models have outlets/phases
ENDS_LINKS = "ports"  # its devices are ends of the cabling plan (``leaf-1/Ethernet1``)


@dataclass(frozen=True)
class TargetContext:
    """What a kind needs to turn one device's file entry into a Target."""

    name: str
    base_dir: Path  # the rack (or station) file's folder: relative paths start here
    endpoint: Mapping[str, Any]  # the simulated rack's overlay for this device (empty: the real one)
    resolve: Callable[[str, str], Secret]  # (secret reference, where) -> value

    def secret(self, ref: str | None, where: str) -> Secret | None:
        """A credential reference resolved into a :class:`Secret` (None stays None)."""
        return self.resolve(ref, f"devices.{self.name}.{where}") if ref else None

    def host_port(self, device: Any) -> tuple[str, int]:
        return (
            str(self.endpoint.get("host", getattr(device, "address", ""))),
            int(self.endpoint.get("port", getattr(device, "port", 0))),
        )


@dataclass(frozen=True)
class Undo:
    """One kind of change a test can make to a device, and how to put it back.

    ``read(driver, target)`` returns the state to restore (journaled before the
    change); ``apply(driver, target, state)`` restores it. ``target`` is what
    the change is about (an outlet number, a channel...), JSON-serialisable.
    """

    read: Callable[[Any, Any], Any]
    apply: Callable[[Any, Any, Any], None]


def expected_identity(device: Any) -> dict[str, Any]:
    """The ``expected:`` block of a device entry (None fields are not checked)."""
    return device.expected.model_dump()


def model_serial_firmware(driver: Any) -> dict[str, Any]:
    """Identity fields every driver's ``identity()`` reports."""
    ident = driver.identity()
    return {key: getattr(ident, key, None) for key in ("model", "serial", "firmware")}


@dataclass(frozen=True)
class DeviceKind:
    name: str  # the rack file's ``kind:`` value
    model: type  # pydantic model of one device entry; its ``kind`` field is ``Literal[name]``
    target: Callable[[Any, TargetContext], Target]  # device entry -> driver target
    protocol: str  # what its simulators speak: the key of a scenario's ``latency_ms``
    identity: Callable[[Any], dict[str, Any]] = model_serial_firmware  # driver -> reported fields
    expected: Callable[[Any], dict[str, Any]] = expected_identity  # entry -> fields pre-flight checks
    provides: frozenset[str] = frozenset()  # FEEDS_OUTLETS, ENDS_LINKS
    items: Mapping[str, Callable[[Rack], list[Item]]] = field(default_factory=dict)  # extra item kinds
    undo: Mapping[str, Undo] = field(default_factory=dict)  # change name -> how to undo it
    make_safe: Callable[[Any], None] | None = None  # put a driver's device in its safe state...
    safe_state_text: str = "safe state"  # ...described for a technician
    plan_key: str | None = None  # the rack plan kept with a run: section name...
    plan: Callable[[Any], dict[str, Any]] | None = None  # ...and what of a device goes in it
    station: bool = False  # station files may declare devices of this kind (bench instruments)
    # cross-references of one device entry to the rest of the rack: (rack, name, device) ->
    # [(location under the device, message)], reported as file:line: devices.NAME.LOCATION: message
    references: Callable[[Rack, str, Any], list[tuple[tuple[str | int, ...], str]]] | None = None

    def endpoint_text(self, device: Any, endpoint: Mapping[str, Any]) -> str:
        """Where the device is, for a technician (``10.0.0.5:161``, a VISA resource...)."""
        if "resource" in endpoint or getattr(device, "resource", None):
            return str(endpoint.get("resource", getattr(device, "resource", "")))
        host = endpoint.get("host", getattr(device, "address", ""))
        port = endpoint.get("port", getattr(device, "port", ""))
        return f"{host}:{port}"


@cache
def all_kinds() -> dict[str, DeviceKind]:
    """Every installed kind, by name (read once per process from the entry points)."""
    found: dict[str, DeviceKind] = {}
    for ep in installed(KINDS_GROUP).values():
        kind = ep.load()
        if not isinstance(kind, DeviceKind) or kind.name != ep.name:
            raise ConfigError(
                f"entry point {KINDS_GROUP}:{ep.name} ({ep.value}) is not a DeviceKind named so"
            )
        found[kind.name] = kind
    return found


def get(name: str) -> DeviceKind:
    try:
        return all_kinds()[name]
    except KeyError:
        raise ConfigError(
            f"no device kind {name!r} is installed (known: {', '.join(sorted(all_kinds())) or 'none'})"
        ) from None


def protocols() -> set[str]:
    return {k.protocol for k in all_kinds().values()}
