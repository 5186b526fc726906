"""The Redfish kinds: compute/switch-tray BMCs, power shelves and the coolant distribution unit.

Three kinds, one protocol (DMTF Redfish over HTTPS), one settings block::

    tray-01:
      kind: bmc
      driver: redfish-bmc
      address: 192.0.2.101
      host: srv-01                # the rack host it manages: its power feeds and cables
      redfish:
        username: admin
        password: file:../secrets/demo.yaml#bmc_password
        auth: session             # or basic
        ca_file: ../pki/bmc-ca.pem  # verify the BMC's certificate against this CA...
        # pinned_sha256: AB:CD:...  ...or pin the certificate itself
      expected: {model: GPU-NODE-8X, serial: SN-TRAY-01, firmware: 1.4.2}
      inventory:
        cpus: 2
        memory_gib: 2048
        gpus: 8
        gpu_model: NVIDIA H100 80GB HBM3
        nics: 2
        firmware: {bmc: 1.4.2, bios: 2.3.1, gpu: 96.00.89.00.01, nic: 28.39.1002}

Certificates are verified unless ``insecure: true`` is asked for (with a
warning), as SSH host keys are. Under ``--sim`` the simulated rack's per-run
CA is used instead of ``ca_file``.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, field_validator, model_validator

from drivers.base import Target
from rackval.kinds import DeviceKind, TargetContext, Undo
from rackval.model import ExpectedIdentity, Name, SecretRef, StrictModel, secret_ref

log = logging.getLogger("rackval")

COMPONENTS = ("bmc", "bios", "gpu", "nic")
PIN_PATTERN = re.compile(r"^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$")


class RedfishLogin(StrictModel):
    username: Annotated[str, Field(min_length=1)]
    password: SecretRef
    auth: Literal["session", "basic"] = "session"
    ca_file: str | None = None  # PEM bundle, relative to the rack file
    pinned_sha256: str | None = None  # SHA-256 of the server certificate (DER), hex
    insecure: bool = False
    timeout_s: PositiveFloat = 10.0
    retries: Annotated[int, Field(ge=0, le=5)] = 1

    _refs = field_validator("password")(secret_ref)

    @field_validator("pinned_sha256")
    @classmethod
    def _pin(cls, value: str | None) -> str | None:
        if value is not None and not PIN_PATTERN.match(value):
            raise ValueError("must be a SHA-256 fingerprint: 64 hex digits, optionally colon-separated")
        return value

    @model_validator(mode="after")
    def _verifiable(self) -> RedfishLogin:
        if self.insecure and (self.ca_file or self.pinned_sha256):
            raise ValueError("insecure: true and a ca_file/pinned_sha256 contradict each other")
        return self


class Firmware(StrictModel):
    """Expected firmware version per component; a missing one is not checked."""

    bmc: str | None = None
    bios: str | None = None
    gpu: str | None = None
    nic: str | None = None


class Inventory(StrictModel):
    """The tray's expected bill of materials."""

    cpus: PositiveInt
    cpu_model: str | None = None
    memory_gib: PositiveInt
    gpus: NonNegativeInt = 0
    gpu_model: str | None = None
    nics: NonNegativeInt = 0
    firmware: Firmware = Firmware()


class RedfishEntry(StrictModel):
    """What every Redfish device entry has: where it is and how to log in."""

    driver: Name
    address: str
    port: Annotated[int, Field(gt=0, lt=65536)] = 443
    redfish: RedfishLogin
    expected: ExpectedIdentity = ExpectedIdentity()


class BmcDevice(RedfishEntry):
    kind: Literal["bmc"]
    host: Name = Field(description="the rack host (power map load, cabling end) this BMC manages")
    inventory: Inventory


class ShelfSpec(StrictModel):
    psus: PositiveInt
    redundancy: NonNegativeInt = 1  # PSUs that may fail with the load still carried
    output_voltage_v: PositiveFloat = 48.0
    rated_power_w: PositiveFloat = Field(description="output power of one PSU")


class PowerShelfDevice(RedfishEntry):
    kind: Literal["power_shelf"]
    host: Name = Field(description="the rack host (power map load) this shelf controller manages")
    shelf: ShelfSpec
    feeds: list[Name] = Field(default=[], description="hosts this shelf's DC busbar powers")


class CduSpec(StrictModel):
    pumps: PositiveInt = 2
    leak_detectors: PositiveInt = 4
    coolant: str = "PG25"


class CduDevice(RedfishEntry):
    kind: Literal["cdu"]
    host: Name | None = None
    cdu: CduSpec = CduSpec()
    cools: list[Name] = Field(default=[], description="hosts on this CDU's secondary loop")


def target(device: Any, ctx: TargetContext) -> Target:
    # the driver (DMTF redfish, requests: ~0.1 s) only for a rack that has Redfish devices
    from drivers.redfish import RedfishSettings

    login = device.redfish
    ca_file = ctx.endpoint.get("ca_file") or (
        str((ctx.base_dir / login.ca_file).resolve()) if login.ca_file else None
    )
    insecure = login.insecure and not ctx.endpoint.get("ca_file")
    if insecure:
        log.warning("%s: Redfish certificate verification is off (insecure: true was asked for)", ctx.name)
    settings = RedfishSettings(
        username=login.username,
        password=ctx.secret(login.password, "redfish.password"),
        auth=login.auth,
        ca_file=ca_file,
        pinned_sha256=login.pinned_sha256,
        insecure=insecure,
        timeout_s=login.timeout_s,
        retries=login.retries,
    )
    host, port = ctx.host_port(device)
    return Target(ctx.name, host, port, settings, timeout_s=login.timeout_s, retries=login.retries)


def _hosts_exist(rack: Any, name: str, device: Any) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    host = getattr(device, "host", None)
    if host is not None and host not in rack.hosts:
        problems.append((("host",), f"{host!r} is not listed under hosts"))
    for field_name in ("feeds", "cools"):
        for i, ref in enumerate(getattr(device, field_name, [])):
            if ref not in rack.hosts:
                problems.append(((field_name, i), f"{ref!r} is not listed under hosts"))
    return problems


def tray_firmware_items(rack: Any) -> list[Any]:
    """Item kind ``tray_firmware``: one per tray and component whose version the rack file names."""
    from rackval.items import Item

    return [
        Item("tray_firmware", f"{name}/{component}", name, (component, version))
        for name, device in rack.devices_of("bmc").items()
        for component in COMPONENTS
        if (version := getattr(device.inventory.firmware, component))
    ]


def _reset(driver: Any, _target: Any, state: Any) -> None:
    driver.set_power(state)


SYSTEM_POWER = Undo(read=lambda driver, _target: driver.power_state(), apply=_reset)

BMC = DeviceKind(
    name="bmc",
    model=BmcDevice,
    target=target,
    protocol="redfish",
    undo={"power": SYSTEM_POWER},
    items={"tray_firmware": tray_firmware_items},
    references=_hosts_exist,
    plan_key="trays",
    plan=lambda d: {"host": d.host, "gpus": d.inventory.gpus},
)

POWER_SHELF = DeviceKind(
    name="power_shelf",
    model=PowerShelfDevice,
    target=target,
    protocol="redfish",
    references=_hosts_exist,
    plan_key="power_shelves",
    plan=lambda d: {"host": d.host, "psus": d.shelf.psus, "feeds": list(d.feeds)},
)

CDU = DeviceKind(
    name="cdu",
    model=CduDevice,
    target=target,
    protocol="redfish",
    references=_hosts_exist,
    plan_key="cdus",
    plan=lambda d: {"cools": list(d.cools)},
)
