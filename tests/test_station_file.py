"""Station file validation: every problem names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from rackval.errors import ConfigError
from rackval.model import load_rack
from rackval.station import check_against_rack, load_station, load_station_text, station_for_rack

ROOT = Path(__file__).resolve().parent.parent
DEMO_RACK = ROOT / "fixtures" / "racks" / "demo.yaml"
DEMO_STATION = ROOT / "fixtures" / "stations" / "demo-station.yaml"

GOOD = """\
station:
  id: ST-1
instruments:
  dmm-1:
    driver: keysight-34465a
    resource: TCPIP0::192.0.2.31::5025::SOCKET
    calibration_due: 2027-03-31
    expected: {model: 34465A}
  psu-1:
    driver: keysight-e36103b
    resource: TCPIP0::192.0.2.33::5025::SOCKET
    calibration_due: 2027-03-31
wiring:
  dmm-1:
    test_point: busbar-48v
supply_checks:
  psu-1: {set_v: 12, current_limit_a: 1, ovp_v: 13.2}
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_station_text(text)
    return info.value.problems


def test_the_demo_station_loads_with_the_demo_rack():
    station = station_for_rack(load_rack(DEMO_RACK))
    assert station is not None and station.station.id == "ST-DEMO-01"
    assert station.source == DEMO_STATION.resolve()
    assert station.wiring["dmm-1"].test_point == "busbar-48v"
    assert station.instruments["eload-1"].visa_library == "@py"
    assert station.instruments["eload-1"].timeout_ms == 2000


def test_defaults_and_optional_setup_fields():
    station = load_station_text(GOOD)
    spec = station.instruments["dmm-1"]
    assert (spec.visa_library, spec.read_termination, spec.write_termination) == ("@py", "\n", "\n")
    assert station.wiring["dmm-1"].channel == 1
    assert station.operator_prompt is False and station.default_suites == []
    assert station.results_dir is None and station.report_formats == []


def test_unknown_field_is_located():
    text = GOOD.replace(
        "    calibration_due: 2027-03-31\n    expected",
        "    colour: red\n    calibration_due: 2027-03-31\n    expected",
        1,
    )
    assert _problems(text) == ["station.yaml:7: instruments.dmm-1.colour: unknown field"]


def test_missing_calibration_due_is_located():
    text = GOOD.replace(
        "    calibration_due: 2027-03-31\n    expected: {model: 34465A}\n", "    expected: {model: 34465A}\n"
    )
    assert _problems(text) == ["station.yaml:4: instruments.dmm-1.calibration_due: required field is missing"]


def test_bad_date_and_bad_resource():
    text = GOOD.replace(
        "calibration_due: 2027-03-31\n    expected", "calibration_due: next spring\n    expected"
    )
    text = text.replace("resource: TCPIP0::192.0.2.33::5025::SOCKET", "resource: 192.0.2.33")
    problems = _problems(text)
    assert len(problems) == 2
    assert problems[0].startswith("station.yaml:7: instruments.dmm-1.calibration_due: ")
    assert problems[1].startswith("station.yaml:11: instruments.psu-1.resource: ")


def test_wiring_must_name_an_instrument():
    text = GOOD.replace("wiring:\n  dmm-1:", "wiring:\n  dmm-9:")
    assert _problems(text) == ["station.yaml:14: wiring.dmm-9: 'dmm-9' is not an instrument of this station"]


def test_wiring_must_name_a_rack_test_point(tmp_path):
    path = tmp_path / "station.yaml"
    path.write_text(GOOD.replace("test_point: busbar-48v", "test_point: busbar-12v"))
    station = load_station(path)
    with pytest.raises(ConfigError) as info:
        check_against_rack(station, load_rack(DEMO_RACK))
    (problem,) = info.value.problems
    assert problem.startswith("station.yaml:15: wiring.dmm-1.test_point: 'busbar-12v' is not a test point")
    assert "busbar-48v" in problem  # lists the known ones


def test_instrument_names_must_not_shadow_rack_devices(tmp_path):
    path = tmp_path / "station.yaml"
    path.write_text(
        GOOD.replace("  dmm-1:\n    driver", "  pdu-a:\n    driver").replace(
            "wiring:\n  dmm-1:", "wiring:\n  pdu-a:"
        )
    )
    with pytest.raises(ConfigError, match=r"station.yaml:4: instruments.pdu-a: 'pdu-a' is also a device"):
        station_for_rack(load_rack(DEMO_RACK), path)


def test_supply_check_ovp_must_be_above_the_setpoint():
    text = GOOD.replace("ovp_v: 13.2", "ovp_v: 11")
    assert _problems(text) == ["station.yaml:17: supply_checks.psu-1: ovp_v must be above set_v"]


def test_duplicate_keys_and_bad_terminations():
    assert _problems(GOOD + "station:\n  id: again\n") == ["station.yaml:18: station: duplicate key"]
    text = GOOD.replace(
        "    calibration_due: 2027-03-31\n    expected",
        '    read_termination: "x"\n    calibration_due: 2027-03-31\n    expected',
        1,
    )
    (problem,) = _problems(text)
    assert problem.startswith("station.yaml:7: instruments.dmm-1.read_termination: ")


def test_override_path_wins_over_the_rack_file(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(GOOD)
    station = station_for_rack(load_rack(DEMO_RACK), path)
    assert station.station.id == "ST-1"


def test_missing_station_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_station(tmp_path / "nope.yaml")
