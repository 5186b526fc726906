"""A measurement is data: a named value with units, limits and an outcome.

Modelled on OpenHTF: tests produce measurements, limits judge them, and the
results layer stores every one of them as it happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from rackval.limits import Limit

Outcome = Literal["pass", "fail"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Measurement:
    name: str
    value: Any
    units: str
    limit: Limit | None
    outcome: Outcome
    device: str
    item: str  # the rack item id, e.g. "pdu-a/7"
    timestamp: datetime = field(default_factory=utcnow)

    def describe(self) -> str:
        unit = f" {self.units}" if self.units and not isinstance(self.value, str) else ""
        value = f"{self.value:g}" if isinstance(self.value, float) else str(self.value)
        text = f"{self.item}: {self.name} = {value}{unit}"
        if self.limit is not None:
            text += f", expected {self.limit.describe()}"
        return text


def judge(
    name: str, value: Any, *, limit: Limit | None, device: str, item: str, units: str | None = None
) -> Measurement:
    """Build a measurement and decide its outcome against ``limit`` (no limit: pass)."""
    outcome: Outcome = "pass" if limit is None or limit.check(value) else "fail"
    return Measurement(
        name=name,
        value=value,
        units=units if units is not None else (limit.units if limit else ""),
        limit=limit,
        outcome=outcome,
        device=device,
        item=item,
    )
