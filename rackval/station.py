"""The station file: the bench instruments of a test station and how they are wired.

A station is the fixture a rack is tested on: a DMM, a DC supply, an
electronic load... each with its VISA resource, calibration due date and the
identity it must report, plus the wiring of its channels to the rack's test
points. It is referenced by the rack file (``station: ../stations/x.yaml``)
or given with ``--station``. Problems are reported as
``station.yaml:12: wiring.dmm-1.test_point: message``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    model_validator,
)

from rackval.errors import ConfigError
from rackval.model import NAME_PATTERN, Rack, resolve_include
from rackval.yamlfile import LocatedDocument, load_located, validate_located

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
VisaResource = Annotated[str, Field(pattern=r"^[A-Za-z]+[0-9]*::\S+$", max_length=256)]
Termination = Annotated[str, Field(pattern=r"^(\r?\n|\r|)$")]

# env var through which ``--station`` reaches the simulated rack's child process


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class StationIdentity(StrictModel):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    description: str = ""


class ExpectedInstrument(StrictModel):
    """What ``*IDN?`` must report; a missing field is not checked."""

    model: str | None = None
    serial: str | None = None


class InstrumentSpec(StrictModel):
    kind: Name = "instrument"  # a device kind that may live on a station (DeviceKind.station)
    driver: Name
    resource: VisaResource
    visa_library: str = "@py"  # "@py" is pyvisa-py; "" or "@ivi" picks an installed vendor VISA
    timeout_ms: Annotated[int, Field(ge=10, le=600_000)] = 2000
    read_termination: Termination = "\n"
    write_termination: Termination = "\n"
    calibration_due: date
    expected: ExpectedInstrument = ExpectedInstrument()


class Wiring(StrictModel):
    channel: PositiveInt = 1
    test_point: Name
    # for an electronic load: the load steps of the regulation check
    load_steps_a: list[PositiveFloat] = []


class SupplyCheck(StrictModel):
    """A supply-driven check: program the supply, switch it on, measure, trip its OVP."""

    set_v: PositiveFloat
    current_limit_a: PositiveFloat
    ovp_v: PositiveFloat

    @model_validator(mode="after")
    def _ovp_above(self) -> SupplyCheck:
        if self.ovp_v <= self.set_v:
            raise ValueError("ovp_v must be above set_v")
        return self


Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
# ``scrypt$N$r$p$salt$key`` (salt and key in URL-safe base64), as ``rackval station hash-pin`` prints
_B64 = r"[A-Za-z0-9_-]"
ScryptHash = Annotated[
    str,
    Field(
        pattern=rf"^scrypt\$[0-9]{{1,8}}\$[0-9]{{1,2}}\$[0-9]{{1,2}}\${_B64}{{16,}}={{0,2}}\${_B64}{{32,}}={{0,2}}$"
    ),
]
# a typo in N must not make every login take minutes (or all the memory)
MAX_SCRYPT_N = 2**20


class OperatorSpec(StrictModel):
    """An operator who may start/stop runs and answer prompts from the station's web page.

    Only hashes of the PIN and badge code are kept, never a code itself:
    ``pin_hash``/``badge_hash`` are salted scrypt hashes (``rackval station
    hash-pin`` prints one). ``pin_sha256``/``badge_sha256`` (unsalted SHA-256, as
    earlier station files have them) are still read; ``station serve`` warns of each.
    """

    name: Annotated[str, Field(min_length=1, max_length=64)]
    pin_hash: ScryptHash | None = None
    badge_hash: ScryptHash | None = None
    pin_sha256: Sha256Hex | None = None
    badge_sha256: Sha256Hex | None = None

    @model_validator(mode="after")
    def _has_credential(self) -> OperatorSpec:
        if not self.hashes():
            raise ValueError("an operator needs pin_hash or badge_hash (rackval station hash-pin)")
        for field in ("pin_hash", "badge_hash"):
            value = getattr(self, field)
            if value is None:
                continue
            n, r, p = (int(x) for x in value.split("$")[1:4])
            if n < 2 or n & (n - 1) or n > MAX_SCRYPT_N or not 1 <= r <= 32 or not 1 <= p <= 16:
                raise ValueError(f"{field}: scrypt N must be a power of two up to 2**20, r 1..32, p 1..16")
        return self

    def hashes(self) -> list[str]:
        """Every stored hash of this operator (scrypt strings and legacy SHA-256 hex)."""
        found = (self.pin_hash, self.badge_hash, self.pin_sha256, self.badge_sha256)
        return [h for h in found if h is not None]

    def legacy_fields(self) -> list[str]:
        """The unsalted SHA-256 fields this operator still uses."""
        return [f for f in ("pin_sha256", "badge_sha256") if getattr(self, f) is not None]


class Station(StrictModel):
    station: StationIdentity
    instruments: dict[Name, InstrumentSpec]
    wiring: dict[Name, Wiring] = {}
    supply_checks: dict[Name, SupplyCheck] = {}
    # station set-up (used by the runner, not by the suites)
    operator_prompt: bool = False
    scan_rack_serial: bool = False
    default_suites: list[str] = []
    results_dir: str | None = None
    results_db: str | None = None
    report_formats: list[str] = []
    # the station's web page (`rackval station serve`)
    racks_dir: str | None = None  # rack files, picked by the scanned serial
    operators: list[OperatorSpec] = []

    _source: Path | None = PrivateAttr(default=None)
    _doc: LocatedDocument | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        return self._source

    def where(self, loc: tuple[str | int, ...]) -> str:
        """``file:line`` of a field, for cross-reference errors."""
        return self._doc.where(loc) if self._doc else "station"


def _reference_problems(station: Station) -> list[tuple[tuple[str | int, ...], str]]:
    from rackval.kinds import all_kinds

    problems: list[tuple[tuple[str | int, ...], str]] = []
    bench_kinds = sorted(name for name, kind in all_kinds().items() if kind.station)
    for name, spec in station.instruments.items():
        if spec.kind not in bench_kinds:
            problems.append(
                (("instruments", name, "kind"), f"{spec.kind!r} is not a bench kind (known: {bench_kinds})")
            )
    for section in ("wiring", "supply_checks"):
        for name in getattr(station, section):
            if name not in station.instruments:
                problems.append(((section, name), f"{name!r} is not an instrument of this station"))
    seen: set[str] = set()
    for i, op in enumerate(station.operators):
        if op.name in seen:
            problems.append((("operators", i, "name"), f"operator {op.name!r} is listed twice"))
        seen.add(op.name)
    if station.racks_dir is not None and station.source is not None and station.source.exists():
        folder = station.source.parent / station.racks_dir
        if not folder.is_dir():
            problems.append((("racks_dir",), f"{folder} is not a folder"))
    return problems


def _raise(station: Station | LocatedDocument, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
    if problems:
        raise ConfigError(
            [f"{station.where(loc)}: {'.'.join(map(str, loc))}: {msg}" for loc, msg in problems]
        )


def station_from_document(doc: LocatedDocument) -> Station:
    station = validate_located(doc, Station)
    station._doc = doc
    station._source = doc.path.resolve() if doc.path.exists() else doc.path
    _raise(station, _reference_problems(station))
    return station


def load_station(path: str | Path) -> Station:
    """Load and validate a station file; raises :class:`ConfigError` with located problems."""
    return station_from_document(load_located(path))


def load_station_text(text: str, name: str = "station.yaml") -> Station:
    return station_from_document(load_located(Path(name), text=text))


def check_against_rack(station: Station, rack: Rack) -> None:
    """Wiring must name the rack's test points; instrument names must not shadow rack devices."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for name, wire in station.wiring.items():
        if wire.test_point not in rack.test_points:
            known = ", ".join(sorted(rack.test_points)) or "none"
            problems.append(
                (
                    ("wiring", name, "test_point"),
                    f"{wire.test_point!r} is not a test point of rack {rack.rack.serial} (known: {known})",
                )
            )
    for name in station.instruments:
        if name in rack.devices:
            problems.append((("instruments", name), f"{name!r} is also a device of the rack file"))
    _raise(station, problems)


def station_for_rack(rack: Rack, override_path: str | Path | None = None) -> Station | None:
    """The rack's station (``override_path`` wins over the rack file's ``station:``), checked
    against the rack; None when neither names one."""
    if override_path:
        station = load_station(override_path)
    elif rack.station:
        label = rack.source.name if rack.source else "rack"
        station = load_station(resolve_include(rack.base_dir, rack.station, what=f"{label}: station"))
    else:
        return None
    check_against_rack(station, rack)
    return station
