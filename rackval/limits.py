"""Limits: versioned YAML files mapping measurement names to acceptance limits.

Limits live in data, not in test code, so a limits change is a reviewed file
change with a version a run records.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rackval.errors import ConfigError
from rackval.yamlfile import load_located, validate_located

Scalar = float | int | str | bool


class Limit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float | None = None
    high: float | None = None
    expected: Scalar | None = None
    one_of: list[Scalar] | None = None
    units: str = ""
    description: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> Limit:
        kinds = sum(x is not None for x in (self.expected, self.one_of)) + (
            self.low is not None or self.high is not None
        )
        if kinds != 1:
            raise ValueError("a limit has exactly one of: low/high, expected, one_of")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("low must not exceed high")
        return self

    def check(self, value: Any) -> bool:
        if self.expected is not None:
            return value == self.expected
        if self.one_of is not None:
            return value in self.one_of
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            return False
        if self.low is not None and value < self.low:
            return False
        return not (self.high is not None and value > self.high)

    def describe(self) -> str:
        unit = f" {self.units}" if self.units else ""
        if self.expected is not None:
            return f"{self.expected}{unit}"
        if self.one_of is not None:
            return "one of " + ", ".join(map(str, self.one_of))
        if self.low is not None and self.high is not None:
            return f"{_num(self.low)}–{_num(self.high)}{unit}"
        if self.low is not None:
            return f"≥ {_num(self.low)}{unit}"
        return f"≤ {_num(self.high)}{unit}"


def _num(x: float) -> str:
    return f"{x:g}"


class LimitsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, Field(min_length=1)]
    limits: dict[str, Limit]

    def get(self, name: str) -> Limit:
        try:
            return self.limits[name]
        except KeyError:
            raise ConfigError(
                f"limits file version {self.version}: no limit named {name!r} "
                f"(known: {', '.join(sorted(self.limits)) or 'none'})"
            ) from None


def load_limits(path: str | Path) -> LimitsFile:
    return validate_located(load_located(path), LimitsFile)
