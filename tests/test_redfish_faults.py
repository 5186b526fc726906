"""Each scenario fault of the Redfish simulators, seen over HTTPS as a client would see it."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from simulators.scenario import Fault
from tests.redfish_sim_helpers import PASSWORD, USER, clean_ca_env, running  # noqa: F401

RESET = "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset"


def F(device, kind, **params):
    return Fault(device=device, kind=kind, **params)


def _members(sim, path):
    return [m["@odata.id"] for m in sim.json(path)["Members"]]


def test_missing_gpu():
    with running("tray-01", faults=[F("tray-01", "missing_gpu", gpu=3)]) as sim:
        procs = _members(sim, "/redfish/v1/Systems/1/Processors")
        gpus = [p for p in procs if "/GPU" in p]
        assert len(gpus) == 7 and "/redfish/v1/Systems/1/Processors/GPU3" not in gpus
        assert sim.json("/redfish/v1/Systems/1/Processors")["Members@odata.count"] == 9
        assert sim.get("/redfish/v1/Systems/1/Processors/GPU3").status_code == 404
        firmware = _members(sim, "/redfish/v1/UpdateService/FirmwareInventory")
        assert "/redfish/v1/UpdateService/FirmwareInventory/GPU3" not in firmware


def test_firmware_per_component():
    faults = [
        F("tray-01", "firmware", component="bmc", version="1.3.9"),
        F("tray-01", "firmware", component="bios", version="2.2.0"),
        F("tray-01", "firmware", component="gpu", version="96.00.5E.00.01", index=2),
        F("tray-01", "firmware", component="nic", version="28.35.1012"),
    ]
    with running("tray-01", faults=faults) as sim:
        assert sim.json("/redfish/v1/Managers/1")["FirmwareVersion"] == "1.3.9"
        assert sim.json("/redfish/v1/Systems/1")["BiosVersion"] == "2.2.0"
        inv = "/redfish/v1/UpdateService/FirmwareInventory"
        assert sim.json(f"{inv}/BMC")["Version"] == "1.3.9"
        assert sim.json(f"{inv}/GPU2")["Version"] == "96.00.5E.00.01"
        assert sim.json(f"{inv}/GPU1")["Version"] == "96.00.89.00.01"
        assert sim.json("/redfish/v1/Systems/1/Processors/GPU2")["FirmwareVersion"] == "96.00.5E.00.01"
        assert sim.json(f"{inv}/NIC1")["Version"] == sim.json(f"{inv}/NIC2")["Version"] == "28.35.1012"


def test_firmware_of_shelf_and_cdu_controllers():
    with running("shelf-1-pmc", faults=[F("shelf-1-pmc", "firmware", version="3.0.0")]) as shelf:
        assert shelf.json("/redfish/v1/PowerEquipment/PowerShelves/1")["FirmwareVersion"] == "3.0.0"
        assert shelf.json("/redfish/v1/Managers/1")["FirmwareVersion"] == "3.0.0"
    with running("cdu-1", faults=[F("cdu-1", "firmware", version="1.9.0")]) as cdu:
        assert cdu.json("/redfish/v1/ThermalEquipment/CDUs/1")["FirmwareVersion"] == "1.9.0"


def test_psu_failed():
    with running("shelf-1-pmc") as nominal:
        total = nominal.json("/redfish/v1/PowerEquipment/PowerShelves/1/Metrics")["PowerWatts"]["Reading"]
    with running("shelf-1-pmc", faults=[F("shelf-1-pmc", "psu_failed", psu=2)]) as shelf:
        psus = "/redfish/v1/PowerEquipment/PowerShelves/1/PowerSupplies"
        failed = shelf.json(f"{psus}/2")
        assert failed["Status"] == {"State": "Enabled", "Health": "Critical"}
        assert shelf.json(f"{psus}/2/Metrics")["OutputPowerWatts"]["Reading"] == 0
        others = [shelf.json(f"{psus}/{i}/Metrics")["OutputPowerWatts"]["Reading"] for i in (1, 3, 4, 5, 6)]
        assert sum(others) == pytest.approx(total, rel=0.01)  # the others carry the load
        assert shelf.json(f"{psus}/1")["Status"]["Health"] == "OK"
        body = shelf.json("/redfish/v1/PowerEquipment/PowerShelves/1")
        assert body["Status"]["HealthRollup"] == "Warning"  # one failure is within redundancy: 1
    faults = [F("shelf-1-pmc", "psu_failed", psu=1), F("shelf-1-pmc", "psu_failed", psu=4)]
    with running("shelf-1-pmc", faults=faults) as shelf:
        assert shelf.json("/redfish/v1/PowerEquipment/PowerShelves/1")["Status"]["HealthRollup"] == "Critical"


@pytest.mark.parametrize(
    "name, detectors",
    [("cdu-1", "/redfish/v1/ThermalEquipment/CDUs/1/LeakDetection"), ("tray-01", None)],
)
def test_leak(name, detectors):
    detectors = detectors or "/redfish/v1/Chassis/1/ThermalSubsystem/LeakDetection"
    detector = 3 if name == "cdu-1" else 2
    with running(name, faults=[F(name, "leak", detector=detector)]) as sim:
        states = {
            p.rsplit("/", 1)[-1]: sim.json(p)["DetectorState"]
            for p in _members(sim, f"{detectors}/LeakDetectors")
        }
        assert states.pop(str(detector)) == "Critical"
        assert set(states.values()) == {"OK"}
        assert sim.json(detectors)["Status"]["Health"] == "Critical"
        assert sim.json("/redfish/v1/Chassis/1")["Status"]["HealthRollup"] == "Critical"


def test_low_flow_raises_the_return_temperature():
    loop = "/redfish/v1/ThermalEquipment/CDUs/1/SecondaryCoolantConnectors/1"
    with running("cdu-1") as nominal:
        normal = nominal.json(loop)
    with running("cdu-1", faults=[F("cdu-1", "low_flow", lpm=6.5)]) as cdu:
        low = cdu.json(loop)
        assert low["FlowLitersPerMinute"]["Reading"] == 6.5
        assert low["ReturnTemperatureCelsius"]["Reading"] > normal["ReturnTemperatureCelsius"]["Reading"] + 5
        assert low["Status"]["Health"] != "OK"
        assert cdu.json("/redfish/v1/Chassis/1/Sensors/SecondaryFlow")["Status"]["Health"] == "Warning"
        assert cdu.json("/redfish/v1/ThermalEquipment/CDUs/1")["Status"]["Health"] != "OK"


def test_high_return_temp():
    with running("cdu-1", faults=[F("cdu-1", "high_return_temp", celsius=55)]) as cdu:
        loop = cdu.json("/redfish/v1/ThermalEquipment/CDUs/1/SecondaryCoolantConnectors/1")
        assert loop["ReturnTemperatureCelsius"]["Reading"] == 55
        assert loop["Status"]["Health"] == "Critical"
        assert cdu.json("/redfish/v1/Chassis/1/Sensors/SecondaryReturnTemp")["Status"]["Health"] == "Critical"


def test_no_answer_accepts_the_connection_and_never_answers():
    with running("tray-01", faults=[F("tray-01", "no_answer")]) as sim:
        port = sim.handle.endpoint["port"]
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
            raw.settimeout(0.5)
            raw.sendall(b"\x16\x03\x01\x00\x05hello")  # the start of a TLS ClientHello
            with pytest.raises(TimeoutError):
                raw.recv(1)
        started = time.monotonic()
        with pytest.raises((requests.exceptions.Timeout, requests.exceptions.SSLError)):
            sim.get("/redfish/v1/", auth=False, timeout=1.0)
        assert time.monotonic() - started < 5


def test_wrong_credentials_rejects_every_login():
    with running("tray-01", faults=[F("tray-01", "wrong_credentials")]) as sim:
        assert sim.get("/redfish/v1/", auth=False).status_code == 200  # the root needs no login
        assert sim.get("/redfish/v1/Systems").status_code == 401
        with sim.session(auth=False) as s:
            login = s.post(
                sim.base_url + "/redfish/v1/SessionService/Sessions",
                json={"UserName": USER, "Password": PASSWORD},
            )
        assert login.status_code == 401
        assert login.json()["error"]["@Message.ExtendedInfo"][0]["MessageId"].endswith(
            "ResourceAtUriUnauthorized"
        )
        assert sim.handle.stats()["auth_failures"] >= 2


def test_http_500_under_a_path_prefix():
    with running("tray-01", faults=[F("tray-01", "http_500", path="/redfish/v1/Chassis")]) as sim:
        reply = sim.get("/redfish/v1/Chassis/1/Sensors")
        assert reply.status_code == 500
        assert reply.json()["error"]["@Message.ExtendedInfo"][0]["MessageId"] == "Base.1.18.0.InternalError"
        assert sim.get("/redfish/v1/Systems/1").status_code == 200
    with running("cdu-1", faults=[F("cdu-1", "http_500")]) as sim:
        assert sim.get("/redfish/v1/", auth=False).status_code == 500


def test_malformed_json_is_a_truncated_200():
    with running(
        "shelf-1-pmc", faults=[F("shelf-1-pmc", "malformed_json", path="/redfish/v1/PowerEquipment")]
    ) as sim:
        reply = sim.get("/redfish/v1/PowerEquipment/PowerShelves/1")
        assert reply.status_code == 200 and reply.text.startswith("{")
        with pytest.raises(ValueError):
            reply.json()
        assert sim.json("/redfish/v1/Managers/1")["FirmwareVersion"] == "3.1.0"


def test_never_powers_on():
    with running("tray-01", faults=[F("tray-01", "never_powers_on")]) as sim, sim.session() as s:
        assert s.post(sim.base_url + RESET, json={"ResetType": "ForceOff"}).status_code == 204
        assert sim.json("/redfish/v1/Systems/1")["PowerState"] == "Off"
        assert s.post(sim.base_url + RESET, json={"ResetType": "On"}).status_code == 204
        time.sleep(1.0)
        assert sim.json("/redfish/v1/Systems/1")["PowerState"] == "PoweringOn"
        assert not sim.state.system_on("srv-01")
