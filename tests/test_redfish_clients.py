"""Other people's Redfish clients, unchanged, against the simulators: DMTF's python-redfish-library
and OpenStack's sushy, both verifying the certificate against the run's CA."""

from __future__ import annotations

import time

import pytest

from simulators.redfish import pki
from tests.redfish_sim_helpers import PASSWORD, USER, clean_ca_env, require_module, running  # noqa: F401


@pytest.fixture(scope="module")
def tray():
    with running("tray-03") as sim:
        yield sim


def _wait(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.parametrize("auth", ["session", "basic"])
def test_dmtf_redfish_library(tray, auth):
    redfish = require_module("redfish")
    client = redfish.redfish_client(
        base_url=tray.base_url, username=USER, password=PASSWORD, cafile=tray.ca_file, timeout=10, max_retry=1
    )
    client.login(auth=auth)
    try:
        if auth == "session":
            assert tray.handle.stats()["sessions"] >= 1
        system = client.get("/redfish/v1/Systems/1")
        assert system.status == 200
        assert system.dict["SerialNumber"] == "SN-TRAY-0003"
        chassis = client.get(system.dict["Links"]["Chassis"][0]["@odata.id"])
        assert chassis.dict["ChassisType"] == "RackMount"
        missing = client.get("/redfish/v1/Systems/9")
        assert missing.status == 404
    finally:
        client.logout()
    if auth == "session":
        assert tray.handle.stats()["sessions"] == 0  # logout deleted the session


def test_dmtf_redfish_library_rejects_a_wrong_ca(tray, tmp_path):
    redfish = require_module("redfish")
    other = pki.rack_ca(tmp_path)
    with pytest.raises(redfish.rest.v1.RetriesExhaustedError) as caught:
        redfish.redfish_client(
            base_url=tray.base_url, username=USER, password=PASSWORD, cafile=str(other.cert_file), max_retry=1
        )
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value.__cause__)


def test_sushy_reads_and_resets_the_system(tray):
    sushy = require_module("sushy")
    root = sushy.Sushy(tray.base_url + "/redfish/v1/", username=USER, password=PASSWORD, verify=tray.ca_file)
    members = root.get_system_collection().get_members()
    assert [m.path for m in members] == ["/redfish/v1/Systems/1"]
    system = root.get_system("/redfish/v1/Systems/1")
    assert system.power_state == sushy.PowerState.ON
    assert system.serial_number == "SN-TRAY-0003"
    assert system.bios_version == "2.3.1"
    assert system.memory_summary.size_gib == 2048
    assert system.processors.summary.count == 2 * 112  # sushy sums the processors' TotalThreads
    assert sushy.ResetType.FORCE_OFF in system.get_allowed_reset_system_values()
    chassis = root.get_chassis("/redfish/v1/Chassis/1")
    assert chassis.power_state == sushy.PowerState.ON
    manager = root.get_manager("/redfish/v1/Managers/1")
    assert manager.firmware_version == "1.4.2"

    system.reset_system(sushy.ResetType.FORCE_OFF)
    system.refresh()
    assert system.power_state == sushy.PowerState.OFF
    assert not tray.state.system_on("srv-03")
    system.reset_system(sushy.ResetType.ON)
    system.refresh()
    assert system.power_state in (sushy.PowerState.POWERING_ON, sushy.PowerState.ON)

    def on():
        system.refresh()
        return system.power_state == sushy.PowerState.ON

    assert _wait(on)
    assert tray.state.system_on("srv-03")


def test_sushy_rejects_a_wrong_ca(tray, tmp_path):
    sushy = require_module("sushy")
    other = pki.rack_ca(tmp_path)
    with pytest.raises(sushy.exceptions.ConnectionError):
        sushy.Sushy(
            tray.base_url + "/redfish/v1/", username=USER, password=PASSWORD, verify=str(other.cert_file)
        )
