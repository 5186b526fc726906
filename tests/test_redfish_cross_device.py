"""The Redfish devices in the simulated compute rack: one physical model behind every simulator.

Switching a tray's outlets off takes its BMC off the network; a Redfish
ForceOff leaves the tray on its feeds drawing standby current, takes its
switch links down and its heat off the CDU; On brings all of it back.
"""

from __future__ import annotations

import time

import pytest
import requests

from simulators.rack import SimulatedRack
from simulators.state import STANDBY_FRACTION
from tests.redfish_sim_helpers import PASSWORD, USER, clean_ca_env, compute_rack  # noqa: F401

RESET = "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset"


@pytest.fixture(scope="module")
def rack():
    sim = SimulatedRack(compute_rack())
    endpoints = sim.start()
    yield sim, endpoints
    sim.stop()


def _client(endpoints, name):
    ep = endpoints[name]
    s = requests.Session()
    s.verify = ep["ca_file"]
    s.auth = (USER, PASSWORD)
    return s, f"https://{ep['host']}:{ep['port']}"


def _get(endpoints, name, path):
    s, base = _client(endpoints, name)
    with s:
        reply = s.get(base + path, timeout=5)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _wait(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _port(sim, switch, port):
    return sim.handles[switch].state()["ports"][port]


def test_all_redfish_devices_share_the_runs_ca(rack):
    _, endpoints = rack
    redfish = {n: ep for n, ep in endpoints.items() if ep.get("protocol") == "redfish"}
    assert len(redfish) == 10
    assert len({ep["ca_file"] for ep in redfish.values()}) == 1


def test_outlets_off_take_the_bmc_off_the_network(rack):
    sim, endpoints = rack
    state = sim.state
    state.set_outlet("pdu-a", 2, False)  # srv-02 keeps its second feed
    try:
        psus = "/redfish/v1/Chassis/1/PowerSubsystem/PowerSupplies"
        first = _get(endpoints, "tray-02", f"{psus}/1")
        assert first["LineInputStatus"] == "LossOfInput" and first["Status"]["Health"] == "Critical"
        assert _get(endpoints, "tray-02", f"{psus}/2")["LineInputStatus"] == "Normal"
        state.set_outlet("pdu-b", 2, False)
        s, base = _client(endpoints, "tray-02")
        with s, pytest.raises(requests.exceptions.ConnectionError):
            s.get(base + "/redfish/v1/", timeout=5)
        assert sim.handles["tray-02"].state()["reachable"] is False
    finally:
        state.set_outlet("pdu-a", 2, True)
        state.set_outlet("pdu-b", 2, True)
    assert _get(endpoints, "tray-02", "/redfish/v1/Systems/1")["PowerState"] == "On"


def test_shelf_controller_is_off_the_network_without_its_feeds(rack):
    sim, endpoints = rack
    sim.state.set_outlet("pdu-a", 19, False)
    sim.state.set_outlet("pdu-b", 19, False)
    try:
        s, base = _client(endpoints, "shelf-1-pmc")
        with s, pytest.raises(requests.exceptions.ConnectionError):
            s.get(base + "/redfish/v1/", timeout=5)
    finally:
        sim.state.set_outlet("pdu-a", 19, True)
        sim.state.set_outlet("pdu-b", 19, True)
    assert (
        _get(endpoints, "shelf-1-pmc", "/redfish/v1/PowerEquipment/PowerShelves/1/Metrics")["PowerWatts"][
            "Reading"
        ]
        > 0
    )


def test_force_off_draws_standby_takes_links_down_and_unloads_the_cdu_then_on_restores(rack):
    sim, endpoints = rack
    state = sim.state
    heat = "/redfish/v1/Chassis/1/Sensors/HeatLoad"
    load_before = _get(endpoints, "cdu-1", heat)["Reading"]
    nominal = {k: state.nominal_current(*k) for k in (("pdu-a", 9), ("pdu-b", 9))}
    assert _port(sim, "leaf-1", "Ethernet4")["oper_up"]  # srv-04/eth0
    s, base = _client(endpoints, "tray-04")
    with s:
        assert s.post(base + RESET, json={"ResetType": "ForceOff"}, timeout=5).status_code == 204
        system = s.get(base + "/redfish/v1/Systems/1", timeout=5).json()
        assert system["PowerState"] == "Off"
        for key, amps in nominal.items():
            assert state.outlet_current(*key) == pytest.approx(amps * STANDBY_FRACTION, abs=0.01)
        assert not _port(sim, "leaf-1", "Ethernet4")["oper_up"]
        assert not _port(sim, "leaf-2", "Ethernet12")["oper_up"]  # srv-04/eth1
        assert _port(sim, "leaf-1", "Ethernet5")["oper_up"]  # srv-05 is unaffected
        nic = s.get(base + "/redfish/v1/Systems/1/EthernetInterfaces/eth0", timeout=5).json()
        assert nic["LinkStatus"] == "LinkDown"
        load_off = _get(endpoints, "cdu-1", heat)["Reading"]
        assert load_off < load_before - 0.5
        power = s.get(base + "/redfish/v1/Chassis/1/Sensors/TotalPower", timeout=5).json()["Reading"]
        assert power < 100  # standby

        assert s.post(base + RESET, json={"ResetType": "On"}, timeout=5).status_code == 204
        assert s.get(base + "/redfish/v1/Systems/1", timeout=5).json()["PowerState"] == "PoweringOn"
        assert _wait(lambda: s.get(base + "/redfish/v1/Systems/1", timeout=5).json()["PowerState"] == "On")
    for key, amps in nominal.items():
        assert state.outlet_current(*key) == pytest.approx(amps)
    assert _port(sim, "leaf-1", "Ethernet4")["oper_up"]
    assert _get(endpoints, "cdu-1", heat)["Reading"] == pytest.approx(load_before, abs=0.05)
    assert sim.handles["tray-04"].state()["resets"] == ["ForceOff", "On"]


def test_system_stays_off_across_a_power_cycle_of_its_outlets(rack):
    """The power-restore policy is "last state": a system switched off stays off when power returns."""
    sim, endpoints = rack
    s, base = _client(endpoints, "tray-06")
    with s:
        assert s.post(base + RESET, json={"ResetType": "GracefulShutdown"}, timeout=5).status_code == 204
    for pdu in ("pdu-a", "pdu-b"):
        sim.state.set_outlet(pdu, 11, False)
    for pdu in ("pdu-a", "pdu-b"):
        sim.state.set_outlet(pdu, 11, True)
    assert _get(endpoints, "tray-06", "/redfish/v1/Systems/1")["PowerState"] == "Off"
    s, base = _client(endpoints, "tray-06")
    with s:
        assert s.post(base + RESET, json={"ResetType": "On"}, timeout=5).status_code == 204
    assert _wait(lambda: _get(endpoints, "tray-06", "/redfish/v1/Systems/1")["PowerState"] == "On")
