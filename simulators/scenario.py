"""Scenario files: faults to inject into a simulated rack, and what they must break.

A scenario names faults per device and, for the fault matrix, the test items
that must fail under it::

    name: dead-outlet
    description: pdu-a outlet 3 reads on but draws nothing
    faults:
      - {device: pdu-a, kind: dead_outlet, outlet: 3}
    latency_ms: {snmp: 5, ssh: 50, scpi: 10}     # optional, per protocol
    expect:
      failures: ["test_outlet_current[pdu-a/3]"]

Fault parameters beyond ``device`` and ``kind`` are checked by the device's
simulator, which knows which faults it can play. Several scenario files can be
combined: faults add up, expectations unite.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from rackval.errors import ConfigError
from rackval.yamlfile import load_located, validate_located

# Fault kinds every simulator spells the same way (a simulator may add its own):
COMMON_FAULTS: dict[str, str] = {
    "no_answer": "the device stops answering (all requests, or those the parameters name)",
    "wrong_credentials": "the device rejects the rack's credentials",
    "garbled": "answers are corrupted on the wire",
    "firmware": "the device reports another firmware version",
    "drop_session": "the device closes the session mid-command",
}
# Old spellings: a scenario using one fails with a located error naming the new one.
RENAMED_FAULTS: dict[str, str] = {"wrong_password": "wrong_credentials", "hang": "no_answer"}


class Fault(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    device: str
    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]

    @field_validator("kind")
    @classmethod
    def _current_spelling(cls, kind: str) -> str:
        if kind in RENAMED_FAULTS:
            raise ValueError(f"fault kind {kind!r} is now spelled {RENAMED_FAULTS[kind]!r}")
        return kind

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Expectation(BaseModel):
    """Test ids that must fail under the scenario; every other test must pass.

    An id is ``test_name[param-id]``; ``*`` matches any run of characters, so
    ``test_*[pdu-a/*]`` names every outlet test of pdu-a. A pattern stands for
    *every* collected test it matches: all of them must fail.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    failures: list[str] = []

    def expand(self, test_ids: list[str]) -> set[str]:
        """The collected ``test_ids`` (node-id suffixes) this expectation says must fail."""
        matched: set[str] = set()
        for pattern in self.failures:
            regex = re.compile(re.escape(pattern).replace(r"\*", ".*") + r"\Z")
            matched |= {t for t in test_ids if regex.match(t)}
        return matched

    def unmatched(self, test_ids: list[str]) -> list[str]:
        """Patterns that match no collected test (a stale scenario file)."""
        return [p for p in self.failures if not self.__class__(failures=[p]).expand(test_ids)]


def _known_protocols(latency: dict[str, float]) -> dict[str, float]:
    """Latency keys are the protocols of the installed device kinds (``snmp``, ``ssh``, ``scpi``...)."""
    from rackval.kinds import protocols

    unknown = sorted(set(latency) - protocols())
    if unknown:
        raise ValueError(f"unknown protocol(s) {unknown} (known: {sorted(protocols())})")
    return latency


Latency = Annotated[dict[str, Annotated[float, Field(ge=0)]], AfterValidator(_known_protocols)]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "nominal"
    description: str = ""
    faults: list[Fault] = []
    latency_ms: Latency = {}
    expect: Expectation = Expectation()

    def faults_for(self, device: str) -> list[Fault]:
        return [f for f in self.faults if f.device == device]


def load_scenario(path: str | Path) -> Scenario:
    return validate_located(load_located(path), Scenario)


def combine(scenarios: list[Scenario]) -> Scenario:
    """One scenario with every fault and every expected failure of ``scenarios``."""
    if not scenarios:
        return Scenario()
    if len(scenarios) == 1:
        return scenarios[0]
    latency: dict[str, float] = {}
    for s in scenarios:
        for proto, ms in s.latency_ms.items():
            latency[proto] = max(ms, latency.get(proto, 0.0))
    failures: list[str] = []
    for s in scenarios:
        failures += [f for f in s.expect.failures if f not in failures]
    return Scenario(
        name="+".join(s.name for s in scenarios),
        description="; ".join(s.description for s in scenarios if s.description),
        faults=[f for s in scenarios for f in s.faults],
        latency_ms=latency,
        expect=Expectation(failures=failures),
    )


def load_scenarios(paths: list[str | Path]) -> Scenario:
    return combine([load_scenario(p) for p in paths])


def check_fault_params(fault: Fault, allowed: dict[str, type]) -> dict[str, Any]:
    """Validate a fault's parameters against ``allowed`` (name -> type); returns them."""
    params = fault.params
    unknown = set(params) - set(allowed)
    if unknown:
        raise ConfigError(
            f"scenario: fault {fault.kind} on {fault.device}: unknown parameter(s) {sorted(unknown)}"
        )
    for key, typ in allowed.items():
        if key in params and not isinstance(params[key], typ):
            raise ConfigError(f"scenario: fault {fault.kind} on {fault.device}: {key} must be {typ.__name__}")
    return params
