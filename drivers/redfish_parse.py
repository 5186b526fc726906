"""Redfish JSON → typed readings. Pure functions: any JSON either parses or raises ParseError.

Property names follow the DMTF schemas (DSP8010): ComputerSystem, Processor,
Manager, SoftwareInventory, Sensor, LeakDetector, PowerSupply(+Metrics),
PowerDistribution(+Metrics), CoolingUnit, CoolantConnector, Pump. A property
the schema makes optional may be missing (``None``); a property of the wrong
JSON type is an error, never a guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from drivers.errors import ParseError

Json = dict[str, Any]


def decode(device: str, resource: str, text: str) -> Json:
    """A Redfish response body: a JSON object, or ParseError naming device and resource."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(device, resource, f"malformed JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ParseError(device, resource, f"expected a JSON object, got {type(value).__name__}")
    return value


class Reader:
    """Typed access to one resource's JSON; errors name the device, resource and property."""

    def __init__(self, device: str, resource: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise ParseError(device, resource, f"expected a JSON object, got {type(data).__name__}")
        self.device, self.resource, self.data = device, resource, data

    def _fail(self, key: str, what: str, value: Any) -> ParseError:
        return ParseError(self.device, self.resource, f"{key}: expected {what}, got {value!r:.60}")

    def str(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self._fail(key, "a string", value)

    def number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number", value)
        return float(value)

    def obj(self, key: str) -> Reader | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._fail(key, "an object", value)
        return Reader(self.device, f"{self.resource} {key}", value)

    def link(self, key: str) -> str | None:
        """The ``@odata.id`` of a navigation property (None when absent)."""
        ref = self.obj(key)
        return ref.str("@odata.id") if ref is not None else None

    def links(self, key: str) -> list[str]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "an array of links", value)
        return [Reader(self.device, f"{self.resource} {key}", v).str("@odata.id") or "" for v in value]

    def members(self) -> list[str]:
        """Members of a resource collection (``Members`` and ``Members@odata.count`` must agree)."""
        members = [m for m in self.links("Members") if m]
        count = self.data.get("Members@odata.count")
        if count is not None and count != len(members):
            raise self._fail("Members@odata.count", f"{len(members)} (the members listed)", count)
        return members

    def reading(self, key: str) -> float | None:
        """``Reading`` of a sensor excerpt property (``{"Reading": 12.1}``)."""
        excerpt = self.obj(key)
        return excerpt.number("Reading") if excerpt is not None else None

    def status(self) -> Status:
        st = self.obj("Status")
        if st is None:
            return Status(None, None)
        return Status(st.str("State"), st.str("Health"), st.str("HealthRollup"))


@dataclass(frozen=True)
class Status:
    state: str | None  # Enabled, Absent, StandbyOffline...
    health: str | None  # OK, Warning, Critical
    rollup: str | None = None

    @property
    def healthy(self) -> bool:
        return self.health in (None, "OK") and self.rollup in (None, "OK")


@dataclass(frozen=True)
class Processor:
    id: str
    type: str | None  # CPU, GPU...
    model: str | None
    serial: str | None
    firmware: str | None
    status: Status


def processor(device: str, uri: str, data: Any) -> Processor:
    r = Reader(device, uri, data)
    return Processor(
        id=r.str("Id") or uri.rstrip("/").rsplit("/", 1)[-1],
        type=r.str("ProcessorType"),
        model=r.str("Model"),
        serial=r.str("SerialNumber"),
        firmware=r.str("FirmwareVersion"),
        status=r.status(),
    )


@dataclass(frozen=True)
class SensorReading:
    id: str
    name: str
    reading: float | None
    units: str | None
    type: str | None  # Temperature, Power, Voltage...
    upper_critical: float | None
    lower_critical: float | None


def sensor(device: str, uri: str, data: Any) -> SensorReading:
    r = Reader(device, uri, data)
    thresholds = r.obj("Thresholds")
    upper = thresholds.obj("UpperCritical") if thresholds else None
    lower = thresholds.obj("LowerCritical") if thresholds else None
    return SensorReading(
        id=r.str("Id") or uri.rsplit("/", 1)[-1],
        name=r.str("Name") or "",
        reading=r.number("Reading"),
        units=r.str("ReadingUnits"),
        type=r.str("ReadingType"),
        upper_critical=upper.number("Reading") if upper else None,
        lower_critical=lower.number("Reading") if lower else None,
    )


@dataclass(frozen=True)
class LeakDetector:
    id: str
    name: str
    state: str | None  # OK, Warning, Critical


def leak_detector(device: str, uri: str, data: Any) -> LeakDetector:
    r = Reader(device, uri, data)
    return LeakDetector(r.str("Id") or uri.rsplit("/", 1)[-1], r.str("Name") or "", r.str("DetectorState"))


COMPONENT_PATTERNS = {  # in this order: a GPU's "VBIOS" is GPU firmware, not the BIOS
    "gpu": re.compile(r"gpu", re.I),
    "nic": re.compile(r"\bnic|network|ethernet|connectx|adapter", re.I),
    "bmc": re.compile(r"bmc|idrac|\bilo\b|\bxcc\b|manager", re.I),
    "bios": re.compile(r"bios|uefi|system rom", re.I),
}


def component_of(item_id: str, name: str, related: list[str]) -> str | None:
    """Which component (bmc, bios, gpu, nic) a FirmwareInventory entry is of."""
    for uri in related:
        if "/Managers/" in uri:
            return "bmc"
        if "/NetworkAdapters/" in uri or "/NetworkInterfaces/" in uri:
            return "nic"
    text = f"{item_id} {name}"
    for component, pattern in COMPONENT_PATTERNS.items():
        if pattern.search(text):
            return component
    return None


@dataclass(frozen=True)
class FirmwareItem:
    id: str
    component: str | None
    version: str | None


def firmware_item(device: str, uri: str, data: Any) -> FirmwareItem:
    r = Reader(device, uri, data)
    item_id = r.str("Id") or uri.rsplit("/", 1)[-1]
    return FirmwareItem(
        item_id, component_of(item_id, r.str("Name") or "", r.links("RelatedItem")), r.str("Version")
    )


@dataclass(frozen=True)
class TraySnapshot:
    model: str | None
    serial: str | None
    manufacturer: str | None
    power_state: str | None  # On, Off, PoweringOn, PoweringOff
    status: Status
    cpus: int
    cpu_model: str | None
    memory_gib: float | None
    gpus: list[Processor]
    nics: int
    firmware: dict[str, list[str]]  # component -> versions reported (one per GPU, per NIC...)
    sensors: list[SensorReading] = field(default_factory=list)
    leaks: list[LeakDetector] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # part -> why it could not be read


@dataclass(frozen=True)
class Psu:
    id: str
    status: Status
    output_w: float | None
    capacity_w: float | None
    output_v: float | None


def psu(device: str, uri: str, data: Any, metrics: Any = None) -> Psu:
    r = Reader(device, uri, data)
    output_w = output_v = None
    if metrics is not None:
        m = Reader(device, f"{uri} Metrics", metrics)
        output_w = m.reading("OutputPowerWatts")
        rails = m.data.get("RailVoltage")
        if isinstance(rails, list) and rails:
            output_v = Reader(device, f"{uri} Metrics RailVoltage", rails[0]).number("Reading")
    return Psu(
        id=r.str("Id") or uri.rsplit("/", 1)[-1],
        status=r.status(),
        output_w=output_w,
        capacity_w=r.number("PowerCapacityWatts"),
        output_v=output_v,
    )


@dataclass(frozen=True)
class ShelfSnapshot:
    model: str | None
    serial: str | None
    status: Status
    psus: list[Psu]
    power_w: float | None
    output_v: float | None


@dataclass(frozen=True)
class CduSnapshot:
    model: str | None
    serial: str | None
    status: Status
    flow_lpm: float | None
    supply_temp_c: float | None
    return_temp_c: float | None
    pressure_kpa: float | None
    pumps: list[Status]
    leaks: list[LeakDetector]


def coolant_connector(device: str, uri: str, data: Any) -> dict[str, float | None]:
    r = Reader(device, uri, data)
    return {
        "flow_lpm": r.reading("FlowLitersPerMinute"),
        "supply_temp_c": r.reading("SupplyTemperatureCelsius"),
        "return_temp_c": r.reading("ReturnTemperatureCelsius"),
        "pressure_kpa": r.reading("DeltaPressurekPa") or r.reading("SupplyPressurekPa"),
    }
