"""The rack file: located errors, unknown keys, references, and a hypothesis property."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rackval.devices import DeviceRegistry
from rackval.errors import ConfigError
from rackval.model import Rack, load_rack, load_rack_text, resolve_include
from tests.conftest import DEMO_RACK

DEMO_TEXT = DEMO_RACK.read_text()


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_rack_text(text, name="rack.yaml")
    return info.value.problems


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[occurrence - 1]


def test_demo_rack_loads():
    rack = load_rack(DEMO_RACK)
    assert rack.rack.serial == "RK-DEMO-0001"
    assert set(rack.devices_of("pdu")) == {"pdu-a", "pdu-b"}
    assert rack.devices["pdu-a"].outlets == 24
    assert {f.outlet for f in rack.feeds_of("pdu-a")} >= {"pdu-a/1", "pdu-a/19"}
    assert rack.source == DEMO_RACK


def test_error_names_file_line_and_field():
    text = DEMO_TEXT.replace("    outlets: 24", "    outlets: 0", 1)
    problems = errors_of(text)
    line = line_of(text, "outlets: 0")
    assert problems == [f"rack.yaml:{line}: devices.pdu-a.outlets: must be greater than 0"]


def test_unknown_key_is_an_error():
    text = DEMO_TEXT.replace("    phases: 3", "    phases: 3\n    colour: red", 1)
    problems = errors_of(text)
    assert problems == [f"rack.yaml:{line_of(text, 'colour: red')}: devices.pdu-a.colour: unknown field"]


def test_missing_required_field():
    text = DEMO_TEXT.replace("  serial: RK-DEMO-0001\n", "", 1)
    (problem,) = errors_of(text)
    assert re.fullmatch(r"rack\.yaml:\d+: rack\.serial: required field is missing", problem)


def test_plain_secret_in_rack_file_is_refused():
    text = DEMO_TEXT.replace(
        "auth_key: file:../secrets/demo.yaml#pdu_auth_key", "auth_key: hunter2hunter2", 1
    )
    (problem,) = errors_of(text)
    assert f"rack.yaml:{line_of(text, 'hunter2')}: devices.pdu-a.snmp.auth_key:" in problem
    assert "credential reference" in problem
    assert "hunter2" not in problem  # the error does not echo the secret back


def test_outlet_reference_to_unknown_pdu():
    text = DEMO_TEXT.replace("- outlet: pdu-b/1", "- outlet: pdu-z/1", 1)
    (problem,) = errors_of(text)
    line = line_of(text, "pdu-z/1")
    expected = "'pdu-z' is not a PDU (a device with outlets) of this rack"
    assert problem == f"rack.yaml:{line}: power.1.outlet: {expected}"


def test_outlet_beyond_pdu_size():
    text = DEMO_TEXT.replace("- outlet: pdu-a/19", "- outlet: pdu-a/30", 1)
    problems = errors_of(text)
    assert any("outlet 30 does not exist (pdu-a has 24)" in p for p in problems)


def test_outlet_fed_twice_and_port_cabled_twice():
    text = DEMO_TEXT.replace("- outlet: pdu-a/2", "- outlet: pdu-a/1", 1)
    text = text.replace("b: srv-02/eth0", "b: srv-01/eth0", 1)
    problems = errors_of(text)
    assert any("outlet pdu-a/1 already feeds power[0]" in p for p in problems)
    assert any("port srv-01/eth0 is already used by cabling[0]" in p for p in problems)


def test_cabling_to_unknown_device():
    text = DEMO_TEXT.replace("b: srv-03/eth0", "b: srv-99/eth0", 1)
    (problem,) = errors_of(text)
    assert problem.startswith(f"rack.yaml:{line_of(text, 'srv-99')}: cabling.4.b:")


def test_duplicate_key_is_an_error():
    text = DEMO_TEXT.replace("  model: AIR-42U-DEMO\n", "  model: AIR-42U-DEMO\n  model: OTHER\n", 1)
    (problem,) = errors_of(text)
    assert problem == f"rack.yaml:{line_of(text, 'model: OTHER')}: rack.model: duplicate key"


def test_invalid_yaml_is_located():
    text = DEMO_TEXT.replace("  model: AIR-42U-DEMO", "  model: [unclosed", 1)
    (problem,) = errors_of(text)
    assert problem.startswith("rack.yaml:") and "invalid YAML" in problem


def test_yaml_object_construction_is_refused():
    text = DEMO_TEXT.replace("  model: AIR-42U-DEMO", "  model: !!python/object/apply:os.system [id]", 1)
    (problem,) = errors_of(text)
    assert "invalid YAML" in problem


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_rack(tmp_path / "nope.yaml")


def test_include_may_not_escape(tmp_path):
    (tmp_path / "racks").mkdir()
    with pytest.raises(ConfigError, match="points outside"):
        resolve_include(tmp_path / "racks", "../../../etc/passwd", what="limits")
    with pytest.raises(ConfigError, match="points outside"):
        resolve_include(tmp_path / "racks", "/etc/passwd", what="limits")


def test_json_schema_describes_the_rack():
    schema = Rack.model_json_schema()
    assert schema["additionalProperties"] is False
    assert {"rack", "devices", "limits"} <= set(schema["required"])


# -- property: any input loads or raises ConfigError, never anything else ----

yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=12),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
demo = yaml.safe_load(DEMO_TEXT)


@st.composite
def mutated_demo(draw):
    """The demo rack with one value somewhere replaced by random YAML data."""
    data = yaml.safe_load(DEMO_TEXT)
    node, path = data, []
    while isinstance(node, dict | list) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else list(range(len(node)))))
        path.append(key)
        if not isinstance(node[key], dict | list):
            break
        node = node[key]
    target = data
    for key in path[:-1]:
        target = target[key]
    if path:
        target[path[-1]] = draw(yaml_values)
    return yaml.safe_dump(data)


def _loads_or_config_error(text: str) -> None:
    try:
        load_rack_text(text)
    except ConfigError as exc:
        assert exc.problems and all(re.match(r"rack\.yaml:\d+: ", p) for p in exc.problems)


@settings(max_examples=200, deadline=None)
@given(mutated_demo())
def test_property_mutated_rack_loads_or_raises_config_error(text):
    _loads_or_config_error(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_property_any_text_loads_or_raises_config_error(text):
    _loads_or_config_error(text)


def test_loading_a_rack_imports_no_device_library():
    """The simulated rack and commands that only read rack files skip pysnmp, paramiko and pyvisa.

    (They cost the simulated rack's start ~0.2 s, which the README's demo run waits for.)
    """
    code = (
        "import sys; from rackval.model import load_rack; "
        f"load_rack({str(DEMO_RACK)!r}); "
        "print(sorted(m for m in ('pysnmp', 'paramiko', 'pyvisa') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_drivers_imported_ahead_are_the_rack_devices_and_a_missing_one_waits_for_first_use(tmp_path):
    """What the ``rack`` fixture imports while the simulated rack starts; errors stay per device."""
    rack_file = tmp_path / "rack.yaml"
    rack_file.write_text(DEMO_TEXT.replace("driver: apc-rpdu2", "driver: no-such-driver", 1))
    wanted = ("pysnmp", "paramiko", "drivers.raritan", "drivers.apc")
    code = (
        "import sys; from rackval.model import load_rack; from rackval.devices import import_drivers; "
        f"import_drivers(load_rack({str(rack_file)!r})); "
        f"print(sorted(m for m in {wanted!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(sorted(["pysnmp", "paramiko", "drivers.raritan"])), proc.stdout
    with pytest.raises(ConfigError, match="no driver named 'no-such-driver'"):
        DeviceRegistry(load_rack(rack_file)).driver("pdu-a")
