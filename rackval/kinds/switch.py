"""The switch kind: network switches managed over SSH."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator

from drivers.base import Target
from rackval.kinds import ENDS_LINKS, DeviceKind, TargetContext
from rackval.model import ExpectedIdentity, Name, SecretRef, StrictModel, secret_ref

log = logging.getLogger("rackval")


class SshSettings(StrictModel):
    username: Annotated[str, Field(min_length=1)]
    password: SecretRef | None = None
    key_file: SecretRef | None = None
    known_hosts: str | None = None
    accept_new_host_key: bool = False
    timeout_s: PositiveFloat = 10.0

    _refs = field_validator("password", "key_file")(secret_ref)

    @model_validator(mode="after")
    def _some_auth(self) -> SshSettings:
        if not (self.password or self.key_file):
            raise ValueError("SSH needs a password or a key_file reference")
        return self


class SwitchDevice(StrictModel):
    kind: Literal["switch"]
    driver: Name
    address: str
    port: Annotated[int, Field(gt=0, lt=65536)] = 22
    ports: PositiveInt
    expected: ExpectedIdentity = ExpectedIdentity()
    ssh: SshSettings


def target(device: SwitchDevice, ctx: TargetContext) -> Target:
    # the driver (paramiko: ~0.09 s to import) only for a rack that has switches
    from drivers.ssh import SshLogin

    ssh = device.ssh
    known_hosts = ctx.endpoint.get("known_hosts") or (
        str((ctx.base_dir / ssh.known_hosts).resolve()) if ssh.known_hosts else None
    )
    if ssh.accept_new_host_key:
        log.warning("%s: accepting a new SSH host key without verification was asked for", ctx.name)
    login = SshLogin(
        username=ssh.username,
        password=ctx.secret(ssh.password, "ssh.password"),
        key_file=ctx.secret(ssh.key_file, "ssh.key_file"),
        known_hosts=known_hosts,
        accept_new_host_key=ssh.accept_new_host_key,
        timeout_s=ssh.timeout_s,
    )
    host, port = ctx.host_port(device)
    return Target(ctx.name, host, port, login, timeout_s=ssh.timeout_s)


KIND = DeviceKind(
    name="switch",
    model=SwitchDevice,
    target=target,
    protocol="ssh",
    provides=frozenset({ENDS_LINKS}),
    plan_key="switches",
    plan=lambda d: {"ports": d.ports},
)
