"""Redfish JSON parsing: any JSON either parses or raises the driver's own ParseError."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import redfish_parse as rp
from drivers.errors import ParseError

KEYS = [
    "Id", "Name", "ProcessorType", "Model", "SerialNumber", "FirmwareVersion", "Status", "State", "Health",
    "HealthRollup", "Reading", "ReadingUnits", "ReadingType", "Thresholds", "UpperCritical", "LowerCritical",
    "DetectorState", "Version", "RelatedItem", "@odata.id", "Members", "Members@odata.count", "Metrics",
    "OutputPowerWatts", "RailVoltage", "PowerCapacityWatts", "FlowLitersPerMinute",
    "SupplyTemperatureCelsius",
    "ReturnTemperatureCelsius", "DeltaPressurekPa", "SupplyPressurekPa",
]  # fmt: skip
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=12,
)
objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=10)

PARSERS = [
    lambda d: rp.processor("tray-01", "/redfish/v1/Systems/1/Processors/GPU1", d),
    lambda d: rp.sensor("tray-01", "/redfish/v1/Chassis/1/Sensors/Inlet", d),
    lambda d: rp.leak_detector(
        "cdu-1", "/redfish/v1/ThermalEquipment/CDUs/1/LeakDetection/LeakDetectors/1", d
    ),
    lambda d: rp.firmware_item("tray-01", "/redfish/v1/UpdateService/FirmwareInventory/BIOS", d),
    lambda d: rp.psu("shelf-1-pmc", "/redfish/v1/PowerEquipment/PowerShelves/1/PowerSupplies/1", d, d),
    lambda d: rp.coolant_connector(
        "cdu-1", "/redfish/v1/ThermalEquipment/CDUs/1/SecondaryCoolantConnectors/1", d
    ),
    lambda d: rp.Reader("tray-01", "/redfish/v1/Systems", d).members(),
]


@settings(max_examples=300, deadline=None)
@given(data=json_values, which=st.integers(0, len(PARSERS) - 1))
def test_any_json_parses_or_raises_parse_error_naming_device_and_resource(data, which):
    try:
        PARSERS[which](data)
    except ParseError as exc:
        assert exc.device in ("tray-01", "cdu-1", "shelf-1-pmc")
        assert exc.operation.startswith("/redfish/v1/")


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40) | objects.map(json.dumps))
def test_any_body_decodes_to_an_object_or_raises_parse_error(text):
    try:
        value = rp.decode("tray-01", "GET /redfish/v1/", text)
    except ParseError as exc:
        assert "tray-01" in str(exc) and "GET /redfish/v1/" in str(exc)
    else:
        assert isinstance(value, dict)


def test_a_gpu_processor_parses_with_its_status():
    gpu = rp.processor(
        "tray-01",
        "/redfish/v1/Systems/1/Processors/GPU1",
        {
            "Id": "GPU1",
            "ProcessorType": "GPU",
            "Model": "NVIDIA H100 80GB HBM3",
            "FirmwareVersion": "96.00.89.00.01",
            "Status": {"State": "Enabled", "Health": "Critical"},
        },
    )
    assert (gpu.type, gpu.model, gpu.firmware) == ("GPU", "NVIDIA H100 80GB HBM3", "96.00.89.00.01")
    assert gpu.status.health == "Critical" and not gpu.status.healthy


def test_members_count_must_agree_with_members():
    reader = rp.Reader(
        "tray-01", "/redfish/v1/Systems", {"Members": [{"@odata.id": "/a"}], "Members@odata.count": 2}
    )
    with pytest.raises(ParseError, match=r"Members@odata\.count"):
        reader.members()


def test_a_truncated_body_is_malformed_json_naming_the_resource():
    with pytest.raises(ParseError, match=r"tray-03: .* GET /redfish/v1/Systems/1: malformed JSON"):
        rp.decode("tray-03", "GET /redfish/v1/Systems/1", '{"Id": "1", "PowerSt')


@pytest.mark.parametrize(
    ("item_id", "name", "related", "component"),
    [
        ("BMC", "BMC Firmware", [], "bmc"),
        ("1", "iLO 6", [], "bmc"),
        ("Installed-0-25227", "Integrated Remote Access Controller", ["/redfish/v1/Managers/1"], "bmc"),
        ("BIOS", "System BIOS", [], "bios"),
        ("GPU3", "GPU 3 VBIOS", [], "gpu"),
        ("NIC1", "ConnectX-7", [], "nic"),
        ("CPLD", "Backplane CPLD", [], None),
    ],
)  # fmt: skip
def test_firmware_components_are_recognised(item_id, name, related, component):
    assert rp.component_of(item_id, name, related) == component
