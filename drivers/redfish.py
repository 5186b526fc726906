"""Redfish driver (DMTF python-redfish-library): BMCs, power shelves and CDUs over HTTPS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from drivers.base import Secret


@dataclass(frozen=True)
class RedfishSettings:
    """How to log in to one Redfish service (built by the Redfish kinds from the rack file)."""

    username: str
    password: Secret | None
    auth: Literal["session", "basic"] = "session"
    ca_file: str | None = None  # absolute path of a PEM bundle to verify the service against
    pinned_sha256: str | None = None  # or: the certificate's SHA-256 fingerprint
    insecure: bool = False  # neither: verification off (asked for explicitly; warned about)
    timeout_s: float = 10.0
    retries: int = 1  # reads only
