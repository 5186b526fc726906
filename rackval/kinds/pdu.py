"""The PDU kind: power distribution units managed over SNMP."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator

from drivers.base import Target
from rackval.kinds import FEEDS_OUTLETS, DeviceKind, TargetContext, Undo, expected_identity
from rackval.model import ExpectedIdentity, Name, SecretRef, StrictModel, secret_ref

log = logging.getLogger("rackval")


class SnmpSettings(StrictModel):
    version: Literal["1", "2c", "3"] = "3"
    community: SecretRef | None = None
    user: str | None = None
    auth_protocol: Literal["SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"] = "SHA"
    auth_key: SecretRef | None = None
    priv_protocol: Literal["AES", "AES192", "AES256", "DES"] = "AES"
    priv_key: SecretRef | None = None
    timeout_s: PositiveFloat = 2.0
    retries: Annotated[int, Field(ge=0, le=5)] = 1

    _refs = field_validator("community", "auth_key", "priv_key")(secret_ref)

    @model_validator(mode="after")
    def _complete(self) -> SnmpSettings:
        if self.version in ("1", "2c") and not self.community:
            raise ValueError(f"SNMPv{self.version} needs a community reference")
        if self.version == "3" and not (self.user and self.auth_key and self.priv_key):
            raise ValueError("SNMPv3 needs user, auth_key and priv_key (authPriv)")
        return self


class PduDevice(StrictModel):
    kind: Literal["pdu"]
    driver: Name
    address: str
    port: Annotated[int, Field(gt=0, lt=65536)] = 161
    outlets: PositiveInt
    phases: Literal[1, 3] = 3
    rated_current_a: PositiveFloat = Field(description="Rated current per phase (inlet)")
    derating_percent: Annotated[float, Field(gt=0, le=100)] = 80.0
    expected: ExpectedIdentity = ExpectedIdentity()
    snmp: SnmpSettings


def target(device: PduDevice, ctx: TargetContext) -> Target:
    # the driver (pysnmp: ~0.06 s to import) only for a rack that has PDUs
    from drivers.snmp import SnmpSettings as DriverSnmpSettings

    snmp = device.snmp
    if snmp.version in ("1", "2c"):
        log.warning("%s: SNMPv%s sends its community in clear text; use v3 authPriv", ctx.name, snmp.version)
    settings = DriverSnmpSettings(
        version=snmp.version,
        community=ctx.secret(snmp.community, "snmp.community"),
        user=snmp.user,
        auth_protocol=snmp.auth_protocol,
        auth_key=ctx.secret(snmp.auth_key, "snmp.auth_key"),
        priv_protocol=snmp.priv_protocol,
        priv_key=ctx.secret(snmp.priv_key, "snmp.priv_key"),
        timeout_s=snmp.timeout_s,
        retries=snmp.retries,
    )
    host, port = ctx.host_port(device)
    return Target(ctx.name, host, port, settings, timeout_s=snmp.timeout_s, retries=snmp.retries)


def identity(driver: Any) -> dict[str, Any]:
    ident = driver.identity()
    return {
        "model": ident.model,
        "serial": ident.serial,
        "firmware": ident.firmware,
        "outlets": ident.outlet_count,
        "phases": ident.phase_count,
    }


def expected(device: PduDevice) -> dict[str, Any]:
    return {**expected_identity(device), "outlets": device.outlets, "phases": device.phases}


def _set_outlet(driver: Any, index: Any, state: Any) -> None:
    driver.set_outlet(int(index), state)


KIND = DeviceKind(
    name="pdu",
    model=PduDevice,
    target=target,
    protocol="snmp",
    identity=identity,
    expected=expected,
    provides=frozenset({FEEDS_OUTLETS}),
    undo={"outlet": Undo(read=lambda driver, index: driver.outlet(int(index)).state, apply=_set_outlet)},
    plan_key="pdus",
    plan=lambda d: {
        "outlets": d.outlets,
        "phases": d.phases,
        "rated_current_a": d.rated_current_a,
        "derating_percent": d.derating_percent,
    },
)
