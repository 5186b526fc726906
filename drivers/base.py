"""What every driver is given: a target (where and how to reach a device)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Secret:
    """A credential value that never shows itself in repr/str/logs.

    Call :meth:`reveal` at the one place the value is handed to a protocol
    library.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Target:
    """Where and how to reach one device.

    ``settings`` is the driver's own typed settings object (e.g.
    :class:`drivers.snmp.SnmpSettings`), built by the device's kind from the
    already-validated rack or station file, with every secret reference
    resolved into a :class:`Secret`. Drivers do not validate it again.
    """

    name: str
    host: str
    port: int
    settings: Any = None
    timeout_s: float = 2.0
    retries: int = 1
