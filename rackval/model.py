"""The rack file: a validated description of a finished rack.

A rack file says what the rack *should* be: its identity, its managed devices
(and how to reach them), the power map (which outlet feeds which load), the
cabling plan, the test points instruments attach to, and which limits file
applies. Secrets never live here: credentials are references (``env:NAME`` or
``file:PATH[#key]``) resolved by :mod:`rackval.secrets`.

Every problem is reported as ``rack.yaml:14: devices.pdu-a.outlets: message``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PrivateAttr,
    create_model,
    model_validator,
)

from rackval.errors import ConfigError
from rackval.yamlfile import LocatedDocument, load_located, validate_located

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
SECRET_REF_PATTERN = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:[^#\s][^#]*(#[A-Za-z0-9_.-]+)?)$")
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Phase = Literal["L1", "L2", "L3"]
Speed = Literal["1G", "10G", "25G", "40G", "50G", "100G", "200G", "400G", "800G"]
SPEED_GBPS: dict[str, int] = {s: int(s[:-1]) for s in Speed.__args__}  # type: ignore[attr-defined]


def secret_ref(value: str | None) -> str | None:
    """Validator of a credential field: a reference, never the secret itself."""
    if value is None:
        return None
    if not SECRET_REF_PATTERN.match(value):
        raise ValueError(
            "must be a credential reference (env:NAME or file:PATH[#key]); secrets never go in the rack file"
        )
    return value


SecretRef = Annotated[str, Field(min_length=4, max_length=4096)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RackIdentity(StrictModel):
    serial: Annotated[str, Field(min_length=1, max_length=64)]
    model: Annotated[str, Field(min_length=1, max_length=64)]
    plan_version: Annotated[str, Field(min_length=1, max_length=32)]


class ExpectedIdentity(StrictModel):
    """What the device must report about itself; a missing field is not checked."""

    model: str | None = None
    serial: str | None = None
    firmware: str | None = None


class Host(StrictModel):
    """A load in the rack (server, power shelf...) that is not managed by rackval directly."""

    model: str | None = None
    lldp: bool = True  # whether it speaks LLDP to its switches
    chassis_mac: str | None = None


class CurrentRange(StrictModel):
    min: Annotated[float, Field(ge=0)]
    max: PositiveFloat

    @model_validator(mode="after")
    def _ordered(self) -> CurrentRange:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class PowerFeed(StrictModel):
    outlet: Annotated[str, Field(pattern=r"^[^/\s]+/[1-9][0-9]*$")]  # "pdu-a/7"
    load: Name
    name: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    phase: Phase
    current_a: CurrentRange

    @property
    def device(self) -> str:
        return self.outlet.split("/")[0]

    @property
    def index(self) -> int:
        return int(self.outlet.split("/")[1])

    @property
    def outlet_name(self) -> str:
        """The name the PDU must report for this outlet (defaults to the load's name)."""
        return self.name or self.load


class Link(StrictModel):
    a: Annotated[str, Field(pattern=r"^[^/\s]+/\S+$")]  # "sw-1/Ethernet1"
    b: Annotated[str, Field(pattern=r"^[^/\s]+/\S+$")]
    speed: Speed

    @property
    def ends(self) -> tuple[tuple[str, str], tuple[str, str]]:
        a_dev, a_port = self.a.split("/", 1)
        b_dev, b_port = self.b.split("/", 1)
        return (a_dev, a_port), (b_dev, b_port)


class TestPoint(StrictModel):
    """A place on the rack an instrument can be wired to (busbar, shelf output...)."""

    __test__ = False  # not a pytest test class

    kind: Literal["busbar", "shelf_output", "supply_input"]
    nominal_v: PositiveFloat
    fed_by: list[Annotated[str, Field(pattern=r"^[^/\s]+/[1-9][0-9]*$")]] = []
    output_resistance_ohm: Annotated[float, Field(ge=0)] = 0.0
    rated_current_a: PositiveFloat | None = None


class Rack(StrictModel):
    """A rack file. ``devices`` entries are validated by their kind's model: see :func:`rack_model`."""

    rack: RackIdentity
    limits: str
    station: str | None = None
    devices: dict[Name, Any]
    hosts: dict[Name, Host] = {}
    power: list[PowerFeed] = []
    cabling: list[Link] = []
    test_points: dict[Name, TestPoint] = {}

    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file this rack was loaded from (None when built in memory)."""
        return self._source

    @property
    def base_dir(self) -> Path:
        return self._source.parent if self._source else Path.cwd()

    def devices_of(self, kind: str) -> dict[str, Any]:
        return {name: d for name, d in self.devices.items() if d.kind == kind}

    def devices_providing(self, role: str) -> dict[str, Any]:
        """Devices whose kind plays ``role`` in the plan (:data:`rackval.kinds.FEEDS_OUTLETS`...)."""
        from rackval.kinds import get

        return {name: d for name, d in self.devices.items() if role in get(d.kind).provides}

    def feeds_of(self, device: str) -> list[PowerFeed]:
        return [f for f in self.power if f.device == device]


def reference_problems(rack: Rack) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-references pydantic cannot check field by field: (location, message) pairs."""
    from rackval.kinds import ENDS_LINKS, FEEDS_OUTLETS, get

    problems: list[tuple[tuple[str | int, ...], str]] = []
    pdus = rack.devices_providing(FEEDS_OUTLETS)
    switches = rack.devices_providing(ENDS_LINKS)
    loads = set(rack.hosts)
    seen_outlets: dict[str, int] = {}
    for i, feed in enumerate(rack.power):
        loc = ("power", i, "outlet")
        if feed.device not in pdus:
            problems.append((loc, f"{feed.device!r} is not a PDU (a device with outlets) of this rack"))
        elif feed.index > pdus[feed.device].outlets:
            problems.append(
                (
                    loc,
                    f"outlet {feed.index} does not exist ({feed.device} has {pdus[feed.device].outlets})",
                )
            )
        elif pdus[feed.device].phases == 1 and feed.phase != "L1":
            problems.append((("power", i, "phase"), f"{feed.device} is single-phase: phase must be L1"))
        if feed.outlet in seen_outlets:
            problems.append((loc, f"outlet {feed.outlet} already feeds power[{seen_outlets[feed.outlet]}]"))
        seen_outlets.setdefault(feed.outlet, i)
        if feed.load not in loads:
            problems.append((("power", i, "load"), f"{feed.load!r} is not listed under hosts"))
    seen_ports: dict[str, int] = {}
    for i, link in enumerate(rack.cabling):
        for side, (dev, _port) in zip(("a", "b"), link.ends, strict=True):
            loc = ("cabling", i, side)
            end = getattr(link, side)
            if dev not in switches and dev not in loads:
                problems.append((loc, f"{dev!r} is neither a switch nor a host of this rack"))
            if end in seen_ports:
                problems.append((loc, f"port {end} is already used by cabling[{seen_ports[end]}]"))
            seen_ports.setdefault(end, i)
        if link.ends[0][0] not in switches and link.ends[1][0] not in switches:
            problems.append((("cabling", i), "a link needs a switch on at least one end"))
    for name, device in rack.devices.items():
        references = get(device.kind).references
        for loc, message in references(rack, name, device) if references else []:
            problems.append((("devices", name, *loc), message))
    for name, tp in rack.test_points.items():
        for j, ref in enumerate(tp.fed_by):
            dev, _, idx = ref.partition("/")
            if dev not in pdus or int(idx) > pdus[dev].outlets:
                problems.append((("test_points", name, "fed_by", j), f"{ref} is not an outlet of this rack"))
    return problems


@cache
def _rack_model(kinds: tuple[str, ...]) -> type[Rack]:
    from rackval.kinds import all_kinds

    models = tuple(all_kinds()[k].model for k in kinds)
    if not models:
        device: Any = Any
    elif len(models) == 1:
        device = models[0]
    else:
        device = Annotated[Union[models], Field(discriminator="kind")]  # noqa: UP007 - built at run time
    return create_model("Rack", __base__=Rack, devices=(dict[Name, device], ...))


def rack_model() -> type[Rack]:
    """The rack-file model with every installed device kind's schema in ``devices``."""
    from rackval.kinds import all_kinds

    return _rack_model(tuple(sorted(all_kinds())))


def rack_from_document(doc: LocatedDocument) -> Rack:
    rack = validate_located(doc, rack_model())
    problems = reference_problems(rack)
    if problems:
        raise ConfigError([f"{doc.where(loc)}: {'.'.join(map(str, loc))}: {msg}" for loc, msg in problems])
    rack._source = doc.path.resolve() if doc.path.exists() else doc.path
    return rack


def load_rack(path: str | Path) -> Rack:
    """Load and validate a rack file; raises :class:`ConfigError` with located problems."""
    return rack_from_document(load_located(path))


def load_rack_text(text: str, name: str = "rack.yaml") -> Rack:
    """Validate rack-file text (used by tests and editors)."""
    return rack_from_document(load_located(Path(name), text=text))


def resolve_include(base_dir: Path, ref: str, *, what: str, root: Path | None = None) -> Path:
    """Resolve a file a config file refers to, refusing paths that escape ``root``.

    ``root`` defaults to the parent of ``base_dir`` (so ``fixtures/racks/x.yaml``
    may name ``../limits/y.yaml`` but not ``/etc/passwd`` or ``../../..``).
    """
    root = (root or base_dir.parent).resolve()
    path = (base_dir / ref).resolve()
    if not path.is_relative_to(root):
        raise ConfigError(f"{what}: {ref!r} points outside {root}")
    if not path.is_file():
        raise ConfigError(f"{what}: {ref!r} not found (looked at {path})")
    return path


def rack_json_schema() -> dict[str, Any]:
    return rack_model().model_json_schema()
