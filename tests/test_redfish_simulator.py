"""The Redfish simulators over real HTTPS: the service tree, sessions, headers, errors, certificates."""

from __future__ import annotations

import asyncio
import ssl
import xml.etree.ElementTree as ET

import pytest
import requests

from rackval.errors import ConfigError
from simulators.base import SimContext
from simulators.redfish import pki
from simulators.scenario import Fault
from simulators.state import RackState
from tests.redfish_sim_helpers import PASSWORD, USER, clean_ca_env, compute_rack, running  # noqa: F401

SESSIONS = "/redfish/v1/SessionService/Sessions"


@pytest.fixture(scope="module")
def tray():
    with running("tray-01") as sim:
        yield sim


def _walk(sim, path="/redfish/v1/", seen=None):
    """Every resource reachable by @odata.id from ``path``."""
    seen = {} if seen is None else seen
    if path in seen:
        return seen
    body = sim.json(path)
    seen[path] = body

    def links(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "@odata.id" and isinstance(item, str) and item != path and "#" not in item:
                    yield item
                elif isinstance(item, dict | list):
                    yield from links(item)
        elif isinstance(value, list):
            for item in value:
                yield from links(item)

    for target in links(body):
        _walk(sim, target, seen)
    return seen


def test_service_root_and_redfish_need_no_auth(tray):
    assert tray.get("/redfish", auth=False).json() == {"v1": "/redfish/v1/"}
    root = tray.get("/redfish/v1/", auth=False)
    assert root.status_code == 200
    assert root.headers["OData-Version"] == "4.0"
    body = root.json()
    assert body["@odata.type"].startswith("#ServiceRoot.v1_")
    assert body["@odata.id"] == "/redfish/v1/"
    assert body["Links"]["Sessions"] == {"@odata.id": SESSIONS}
    for key in ("Systems", "Chassis", "Managers", "SessionService", "UpdateService"):
        assert body[key]["@odata.id"].startswith("/redfish/v1/")
    assert tray.get("/redfish/v1", auth=False).json()["@odata.id"] == "/redfish/v1/"


def test_metadata_and_odata_documents(tray):
    meta = tray.get("/redfish/v1/$metadata", auth=False)
    assert meta.status_code == 200 and meta.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(meta.text)
    refs = [r.attrib["Uri"] for r in root if r.tag.endswith("Reference")]
    assert "/redfish/v1/Schemas/ComputerSystem_v1.xml" in refs
    for uri in refs:  # every schema the metadata references is served (with auth)
        doc = tray.get(uri)
        assert doc.status_code == 200, uri
        ET.fromstring(doc.text)
    assert tray.get(refs[0], auth=False).status_code == 401
    odata = tray.get("/redfish/v1/odata", auth=False).json()
    assert odata["@odata.context"] == "/redfish/v1/$metadata"
    assert {"name": "Systems", "kind": "Singleton", "url": "/redfish/v1/Systems"} in odata["value"]


def test_every_resource_is_typed_and_collections_count_their_members(tray):
    tree = _walk(tray)
    assert len(tree) > 40
    for path, body in tree.items():
        assert body["@odata.id"] == path
        odata_type = body["@odata.type"]
        assert odata_type.startswith("#")
        assert body["@odata.context"].startswith("/redfish/v1/$metadata#")
        if odata_type.endswith("Collection"):
            assert body["Members@odata.count"] == len(body["Members"]), path
        else:
            assert ".v1_" in odata_type, path  # resources carry a versioned type
            assert body["Id"] == path.rstrip("/").rsplit("/", 1)[-1] or path == "/redfish/v1/"


def test_inventory_follows_the_rack_file(tray):
    device = compute_rack().devices["tray-01"]
    system = tray.json("/redfish/v1/Systems/1")
    assert system["@odata.type"] == "#ComputerSystem.v1_20_0.ComputerSystem"
    assert (system["Model"], system["SerialNumber"]) == (device.expected.model, device.expected.serial)
    assert system["PowerState"] == "On"
    assert system["ProcessorSummary"] == {"Count": 2, "Model": device.inventory.cpu_model}
    assert system["MemorySummary"]["TotalSystemMemoryGiB"] == 2048
    assert system["BiosVersion"] == "2.3.1"
    reset = system["Actions"]["#ComputerSystem.Reset"]
    assert reset["target"] == "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset"
    assert reset["ResetType@Redfish.AllowableValues"] == [
        "On",
        "ForceOff",
        "GracefulShutdown",
        "ForceRestart",
    ]
    procs = [tray.json(m["@odata.id"]) for m in tray.json("/redfish/v1/Systems/1/Processors")["Members"]]
    gpus = [p for p in procs if p["ProcessorType"] == "GPU"]
    assert len([p for p in procs if p["ProcessorType"] == "CPU"]) == 2
    assert len(gpus) == 8
    assert {g["Model"] for g in gpus} == {"NVIDIA H100 80GB HBM3"}
    assert {g["FirmwareVersion"] for g in gpus} == {"96.00.89.00.01"}
    assert len({g["SerialNumber"] for g in gpus}) == 8
    dimms = [tray.json(m["@odata.id"]) for m in tray.json("/redfish/v1/Systems/1/Memory")["Members"]]
    assert sum(d["CapacityMiB"] for d in dimms) == 2048 * 1024
    assert tray.json("/redfish/v1/Managers/1")["FirmwareVersion"] == "1.4.2"
    inventory = tray.json("/redfish/v1/UpdateService/FirmwareInventory")
    versions = {
        m["@odata.id"].rsplit("/", 1)[-1]: tray.json(m["@odata.id"])["Version"] for m in inventory["Members"]
    }
    assert versions["BMC"] == "1.4.2" and versions["BIOS"] == "2.3.1"
    assert [versions[f"GPU{i}"] for i in range(1, 9)] == ["96.00.89.00.01"] * 8
    assert versions["NIC1"] == versions["NIC2"] == "28.39.1002"
    nics = tray.json("/redfish/v1/Systems/1/EthernetInterfaces")
    assert [m["@odata.id"].rsplit("/", 1)[-1] for m in nics["Members"]] == ["eth0", "eth1"]
    chassis = tray.json("/redfish/v1/Chassis/1")
    assert chassis["PowerState"] == "On"
    leak = tray.json("/redfish/v1/Chassis/1/ThermalSubsystem/LeakDetection/LeakDetectors/1")
    assert leak["DetectorState"] == "OK"
    sensor = tray.json("/redfish/v1/Chassis/1/Sensors/CPU1Temp")
    assert sensor["ReadingUnits"] == "Cel" and sensor["ReadingType"] == "Temperature"
    assert sensor["Thresholds"]["UpperCritical"]["Reading"] > sensor["Reading"]


def test_unauthenticated_requests_get_401_with_a_redfish_error(tray):
    reply = tray.get("/redfish/v1/Systems/1", auth=False)
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"].startswith("Basic")
    error = reply.json()["error"]
    assert error["code"] == "Base.1.18.0.GeneralError"
    assert error["message"]
    info = error["@Message.ExtendedInfo"][0]
    assert info["MessageId"] == "Base.1.18.0.NoValidSession"
    assert info["MessageSeverity"] == "Critical" and info["Resolution"]
    bad = tray.get("/redfish/v1/Systems/1", auth=False, headers={"X-Auth-Token": "not-a-token"})
    assert bad.status_code == 401
    with requests.Session() as s:
        s.verify = tray.ca_file
        s.auth = (USER, "wrong")
        assert s.get(tray.base_url + "/redfish/v1/Systems").status_code == 401


def test_404_and_405_bodies(tray):
    missing = tray.get("/redfish/v1/Systems/2")
    assert missing.status_code == 404
    assert missing.json()["error"]["@Message.ExtendedInfo"][0]["MessageId"] == "Base.1.18.0.ResourceNotFound"
    with tray.session() as s:
        reply = s.delete(tray.base_url + "/redfish/v1/Systems/1")
        assert reply.status_code == 405
        assert reply.headers["Allow"] == "GET, HEAD"
        assert (
            reply.json()["error"]["@Message.ExtendedInfo"][0]["MessageId"]
            == "Base.1.18.0.OperationNotAllowed"
        )
        action = s.get(tray.base_url + "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset")
        assert action.status_code == 405 and action.headers["Allow"] == "POST"
        unknown = s.post(tray.base_url + "/redfish/v1/Systems/1/Actions/ComputerSystem.Melt", json={})
        assert unknown.status_code == 404
        assert (
            unknown.json()["error"]["@Message.ExtendedInfo"][0]["MessageId"]
            == "Base.1.18.0.ActionNotSupported"
        )
        bad = s.post(
            tray.base_url + "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", json={"ResetType": "Nap"}
        )
        assert bad.status_code == 400
        assert "ActionParameterValueNotInList" in bad.json()["error"]["@Message.ExtendedInfo"][0]["MessageId"]
        assert s.head(tray.base_url + "/redfish/v1/Systems/1").status_code == 200


def test_etag_if_none_match_and_link_header(tray):
    first = tray.get("/redfish/v1/Managers/1")
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    assert first.headers["Link"] == "</redfish/v1/Schemas/Manager_v1.xml>; rel=describedby"
    assert tray.get("/redfish/v1/Managers/1").headers["ETag"] == etag  # stable while nothing changes
    assert tray.get("/redfish/v1/Managers/1", headers={"If-None-Match": etag}).status_code == 304
    assert tray.get("/redfish/v1/Managers/1", headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_session_login_use_and_logout(tray):
    with requests.Session() as s:
        s.verify = tray.ca_file
        login = s.post(tray.base_url + SESSIONS, json={"UserName": USER, "Password": PASSWORD})
        assert login.status_code == 201
        token, location = login.headers["X-Auth-Token"], login.headers["Location"]
        assert location.startswith(SESSIONS + "/")
        assert login.json()["UserName"] == USER and "Password" not in login.json()
        headers = {"X-Auth-Token": token}
        assert s.get(tray.base_url + "/redfish/v1/Systems/1", headers=headers).status_code == 200
        members = s.get(tray.base_url + SESSIONS, headers=headers).json()["Members"]
        assert {"@odata.id": location} in members
        assert s.delete(tray.base_url + location, headers=headers).status_code in (200, 204)
        assert s.get(tray.base_url + "/redfish/v1/Systems/1", headers=headers).status_code == 401
        wrong = s.post(tray.base_url + SESSIONS, json={"UserName": USER, "Password": "nope"})
        assert wrong.status_code == 401 and "X-Auth-Token" not in wrong.headers
        assert s.post(tray.base_url + SESSIONS, json={"UserName": USER}).status_code == 400


def test_certificate_is_signed_by_the_runs_ca_for_localhost(tray):
    with requests.Session() as s:
        s.verify = tray.ca_file
        assert s.get(f"https://localhost:{tray.handle.endpoint['port']}/redfish/v1/").status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tray.base_url + "/redfish/v1/", timeout=5)  # the system CAs do not know it
    other = pki.rack_ca(tray.workdir / "another-run")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tray.base_url + "/redfish/v1/", verify=str(other.cert_file), timeout=5)
    context = ssl.create_default_context(cafile=tray.ca_file)
    assert context.cert_store_stats()["x509_ca"] == 1


def test_simulators_of_one_run_share_one_ca(tmp_path):
    rack = compute_rack()
    with (
        running("tray-02", rack=rack, workdir=tmp_path) as a,
        running("cdu-1", rack=rack, workdir=tmp_path) as b,
    ):
        assert a.ca_file == b.ca_file == str((tmp_path / "redfish-ca" / "ca.pem").resolve())
        assert a.json("/redfish/v1/Managers/1")["FirmwareVersion"] == "1.4.2"
        assert b.json("/redfish/v1/ThermalEquipment/CDUs/1")["EquipmentType"] == "CDU"


def test_requests_are_counted(tray):
    before = tray.handle.stats()["requests"]
    tray.get("/redfish/v1/")
    tray.get("/redfish/v1/Systems")
    assert tray.handle.stats()["requests"] == before + 2


def test_power_shelf_tree():
    with running("shelf-1-pmc") as shelf:
        shelves = shelf.json("/redfish/v1/PowerEquipment/PowerShelves")
        assert shelves["Members@odata.count"] == 1
        body = shelf.json("/redfish/v1/PowerEquipment/PowerShelves/1")
        assert body["EquipmentType"] == "PowerShelf"
        assert (body["Model"], body["SerialNumber"], body["FirmwareVersion"]) == (
            "ORV3-PSU-SHELF",
            "SN-SHELF-0001",
            "3.1.0",
        )
        psus = shelf.json("/redfish/v1/PowerEquipment/PowerShelves/1/PowerSupplies")
        assert psus["Members@odata.count"] == 6
        psu = shelf.json(psus["Members"][0]["@odata.id"])
        assert psu["PowerCapacityWatts"] == 5500 and psu["Status"] == {"State": "Enabled", "Health": "OK"}
        metrics = shelf.json(psu["Metrics"]["@odata.id"])
        assert metrics["OutputPowerWatts"]["Reading"] > 0
        assert metrics["RailVoltage"][0]["Reading"] == pytest.approx(48, abs=0.5)
        total = shelf.json("/redfish/v1/PowerEquipment/PowerShelves/1/Metrics")["PowerWatts"]["Reading"]
        assert total == pytest.approx(6 * metrics["OutputPowerWatts"]["Reading"], rel=0.01)
        mains = shelf.json("/redfish/v1/PowerEquipment/PowerShelves/1/Mains")
        assert mains["Members@odata.count"] == 2  # pdu-a/19 and pdu-b/19
        branch = shelf.json("/redfish/v1/PowerEquipment/PowerShelves/1/Branches/DC1")
        assert branch["NominalVoltage"] == "DC48V"
        assert branch["Voltage"]["Reading"] == pytest.approx(48, abs=0.5)
        assert shelf.json("/redfish/v1/Managers/1")["FirmwareVersion"] == "3.1.0"


def test_cdu_tree():
    with running("cdu-1") as cdu:
        unit = cdu.json("/redfish/v1/ThermalEquipment/CDUs/1")
        assert unit["EquipmentType"] == "CDU" and unit["Status"]["Health"] == "OK"
        assert (unit["Model"], unit["SerialNumber"], unit["FirmwareVersion"]) == (
            "CDU-RACK-100",
            "SN-CDU-0001",
            "2.0.7",
        )
        assert cdu.json("/redfish/v1/ThermalEquipment/CDUs/1/Pumps")["Members@odata.count"] == 2
        detectors = cdu.json("/redfish/v1/ThermalEquipment/CDUs/1/LeakDetection/LeakDetectors")
        assert detectors["Members@odata.count"] == 4
        assert {cdu.json(m["@odata.id"])["DetectorState"] for m in detectors["Members"]} == {"OK"}
        loop = cdu.json("/redfish/v1/ThermalEquipment/CDUs/1/SecondaryCoolantConnectors/1")
        assert loop["ReturnTemperatureCelsius"]["Reading"] > loop["SupplyTemperatureCelsius"]["Reading"]
        assert loop["FlowLitersPerMinute"]["Reading"] > 10
        assert loop["DeltaPressurekPa"]["Reading"] > 0
        sensor = cdu.json(loop["FlowLitersPerMinute"]["DataSourceUri"])
        assert sensor["Reading"] == loop["FlowLitersPerMinute"]["Reading"]


@pytest.mark.parametrize(
    "name, fault, match",
    [
        ("tray-01", Fault(device="tray-01", kind="melted"), "unknown for a redfish-bmc"),
        ("tray-01", Fault(device="tray-01", kind="missing_gpu", gpu=9), "does not exist"),
        ("tray-01", Fault(device="tray-01", kind="missing_gpu"), "gpu is required"),
        (
            "tray-01",
            Fault(device="tray-01", kind="firmware", component="cpld", version="x"),
            "component must be",
        ),
        ("tray-01", Fault(device="tray-01", kind="no_answer", colour="red"), "unknown parameter"),
        ("tray-01", Fault(device="tray-01", kind="leak", detector="one"), "must be int"),
        ("shelf-1-pmc", Fault(device="shelf-1-pmc", kind="psu_failed", psu=7), "does not exist"),
        ("cdu-1", Fault(device="cdu-1", kind="low_flow", lpm=-1), "lpm must be"),
        ("cdu-1", Fault(device="cdu-1", kind="leak", detector=5), "does not exist"),
        ("cdu-1", Fault(device="cdu-1", kind="psu_failed", psu=1), "unknown for a redfish-cdu"),
    ],
)
def test_bad_faults_are_config_errors(name, fault, match):
    with pytest.raises(ConfigError, match=match), running(name, faults=[fault]):
        pass


def test_not_a_bmc_is_a_config_error(tmp_path):
    from simulators.redfish import bmc

    rack = compute_rack()
    loop = asyncio.new_event_loop()
    ctx = SimContext(rack, RackState(rack), [], 0.0, loop, tmp_path, lambda ref: "x")
    with pytest.raises(ConfigError, match="is not a bmc"):
        bmc.start(ctx, "cdu-1")
    loop.close()


def test_entry_points_name_the_simulators():
    from rackval import registry

    for driver, module in (
        ("redfish-bmc", "bmc"),
        ("redfish-power-shelf", "power_shelf"),
        ("redfish-cdu", "cdu"),
    ):
        assert registry.load(registry.SIMULATORS, driver).__module__ == f"simulators.redfish.{module}"
