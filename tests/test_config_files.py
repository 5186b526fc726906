"""Limits and scenario files: located errors, and any input loads or raises ConfigError."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rackval.errors import ConfigError
from rackval.limits import LimitsFile, load_limits
from rackval.yamlfile import load_located, validate_located
from simulators.scenario import Scenario, combine, load_scenario
from tests.conftest import ROOT, SCENARIOS

LIMITS = ROOT / "fixtures" / "limits" / "demo-limits.yaml"


def load_text(model, text: str, name: str):
    return validate_located(load_located(Path(name), text=text), model)


def test_demo_limits_load_and_judge():
    limits = load_limits(LIMITS)
    assert limits.version
    imbalance = limits.get("phase_imbalance")
    assert imbalance.check(10) and not imbalance.check(30) and not imbalance.check(float("nan"))
    assert limits.get("outlet_state").check("on") and not limits.get("outlet_state").check("off")


def test_limit_with_two_kinds_is_located():
    text = "version: '1'\nlimits:\n  x:\n    low: 1\n    expected: 2\n"
    with pytest.raises(ConfigError) as info:
        load_text(LimitsFile, text, "limits.yaml")
    assert info.value.problems == [
        "limits.yaml:3: limits.x: a limit has exactly one of: low/high, expected, one_of"
    ]


def test_limit_unknown_key_is_located():
    text = "version: '1'\nlimits:\n  x:\n    hgih: 1\n"
    with pytest.raises(ConfigError) as info:
        load_text(LimitsFile, text, "limits.yaml")
    assert "limits.yaml:4: limits.x.hgih: unknown field" in info.value.problems


def test_every_scenario_file_loads_and_names_known_devices():
    from rackval.model import load_rack
    from rackval.station import station_for_rack

    rack = load_rack(ROOT / "fixtures" / "racks" / "demo.yaml")
    known = set(rack.devices) | set(rack.test_points) | set(station_for_rack(rack).instruments)
    for path in SCENARIOS.glob("*.yaml"):
        for fault in load_scenario(path).faults:
            assert fault.device in known, f"{path.name}: unknown device {fault.device}"


def test_scenario_unknown_key_is_located():
    with pytest.raises(ConfigError) as info:
        load_text(Scenario, "name: x\nfaultz: []\n", "s.yaml")
    assert info.value.problems == ["s.yaml:2: faultz: unknown field"]


def test_combined_scenarios_add_faults_and_expectations():
    a, b = (
        load_scenario(SCENARIOS / "dead-outlet.yaml"),
        load_scenario(SCENARIOS / "pdu-firmware-mismatch.yaml"),
    )
    both = combine([a, b])
    assert both.faults == a.faults + b.faults
    assert set(both.expect.failures) == set(a.expect.failures) | set(b.expect.failures)
    assert both.name == "dead-outlet+pdu-firmware-mismatch"


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c, max_size=3)),
    max_leaves=15,
)


def _loads_or_located_error(model, text: str) -> None:
    try:
        load_text(model, text, "file.yaml")
    except ConfigError as exc:
        assert exc.problems and all(re.match(r"file\.yaml:\d+: ", p) for p in exc.problems)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=120), yaml_values.map(yaml.safe_dump)))
def test_property_limits_file_loads_or_raises_located_error(text):
    _loads_or_located_error(LimitsFile, text)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=120), yaml_values.map(yaml.safe_dump)))
def test_property_scenario_file_loads_or_raises_located_error(text):
    _loads_or_located_error(Scenario, text)


def _station_loads_or_located_error(text: str) -> None:
    from rackval.station import station_from_document

    try:
        station_from_document(load_located(Path("station.yaml"), text=text))
    except ConfigError as exc:
        assert exc.problems and all(re.match(r"station\.yaml:\d+: ", p) for p in exc.problems)


@st.composite
def mutated_station(draw):
    """The demo station with one value somewhere replaced by random YAML data."""
    data = yaml.safe_load((ROOT / "fixtures" / "stations" / "demo-station.yaml").read_text())
    node, path = data, []
    while isinstance(node, dict | list) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else list(range(len(node)))))
        path.append(key)
        node = node[key]
    target = data
    for key in path[:-1]:
        target = target[key]
    if path:
        target[path[-1]] = draw(yaml_values)
    return yaml.safe_dump(data, default_flow_style=False)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=120), mutated_station()))
def test_property_station_file_loads_or_raises_located_error(text):
    _station_loads_or_located_error(text)


@pytest.mark.parametrize(("old", "new"), [("wrong_password", "wrong_credentials"), ("hang", "no_answer")])
def test_old_fault_spelling_is_a_located_error_naming_the_new_one(tmp_path, old, new):
    path = tmp_path / "old.yaml"
    path.write_text(f"name: old\nfaults:\n  - {{device: leaf-1, kind: {old}}}\n")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    text = str(err.value)
    assert "old.yaml:3" in text and "faults.0.kind" in text and repr(new) in text
