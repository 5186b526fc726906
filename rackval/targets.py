"""Turn a rack-file device (plus a simulator endpoint overlay) into a driver Target.

Secret references are resolved here, at connect time, into
:class:`drivers.base.Secret` values that never print themselves.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from drivers.base import Target
from rackval.model import PduDevice, Rack, SwitchDevice
from rackval.secrets import resolve_secret

log = logging.getLogger("rackval")

Overlay = dict[str, dict[str, Any]]


def _resolved(settings: dict[str, Any], secret_fields: tuple[str, ...], base: Path, what: str) -> dict:
    out = dict(settings)
    for key in secret_fields:
        if out.get(key):
            out[key] = resolve_secret(out[key], base, what=f"{what}.{key}")
    return out


def build_target(rack: Rack, name: str, overlay: Overlay | None = None) -> Target:
    device = rack.devices[name]
    endpoint = (overlay or {}).get(name, {})
    options: dict[str, Any] = {"kind": device.kind, "driver": device.driver}
    timeout, retries = 2.0, 1
    if isinstance(device, PduDevice):
        snmp = _resolved(
            device.snmp.model_dump(),
            ("community", "auth_key", "priv_key"),
            rack.base_dir,
            f"devices.{name}.snmp",
        )
        if device.snmp.version == "2c":
            log.warning("%s: SNMPv2c sends its community in clear text; use v3 authPriv", name)
        options["snmp"] = snmp
        timeout, retries = device.snmp.timeout_s, device.snmp.retries
    elif isinstance(device, SwitchDevice):
        ssh = _resolved(
            device.ssh.model_dump(), ("password", "key_file"), rack.base_dir, f"devices.{name}.ssh"
        )
        if endpoint.get("known_hosts"):
            ssh["known_hosts"] = endpoint["known_hosts"]
        elif ssh.get("known_hosts"):
            ssh["known_hosts"] = str((rack.base_dir / ssh["known_hosts"]).resolve())
        if ssh.get("accept_new_host_key"):
            log.warning("%s: accepting a new SSH host key without verification was asked for", name)
        options["ssh"] = ssh
        timeout = device.ssh.timeout_s
    else:
        options["resource"] = endpoint.get("resource", device.resource)
    options["expected"] = device.expected.model_dump()
    host = endpoint.get("host", getattr(device, "address", ""))
    port = int(endpoint.get("port", getattr(device, "port", 0)))
    return Target(name=name, host=host, port=port, options=options, timeout_s=timeout, retries=retries)
