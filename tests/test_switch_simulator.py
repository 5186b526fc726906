"""The switch simulator: its model of the rack, faults, host keys, and the cross-device effect."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.eos import AristaEos
from drivers.sonic import Sonic
from rackval.devices import build_target
from rackval.errors import ConfigError
from rackval.model import load_rack
from rackval.session import RackSession
from rackval.simprocess import start_sim_process
from simulators.scenario import Fault
from simulators.state import RackState
from simulators.switch_model import SwitchModel
from simulators.switch_ssh import host_key, switches_alone

ROOT = Path(__file__).resolve().parent.parent
RACK_FILE = ROOT / "fixtures" / "racks" / "demo.yaml"
RACK = load_rack(RACK_FILE)
DEFAULTS = {"model": "m", "firmware": "f"}


def _model(name="leaf-1", faults=(), state=None):
    naming = "eos" if name == "leaf-1" else "sonic"
    return SwitchModel(RACK, name, state or RackState(RACK), list(faults), naming=naming, defaults=DEFAULTS)


def test_neighbours_follow_the_cabling_plan():
    ports = {p.name: p for p in _model("leaf-2").ports()}
    assert ports["Ethernet0"].neighbor == ("srv-01", "eth1")
    assert ports["Ethernet120"].neighbor == ("leaf-1", "Ethernet31")  # switch-to-switch
    assert ports["Ethernet120"].speed == "400G"
    assert not ports["Ethernet32"].present and ports["Ethernet32"].neighbor is None  # not cabled


def test_powered_off_host_takes_its_links_down():
    state = RackState(RACK)
    model = _model("leaf-1", state=state)
    state.set_outlet("pdu-a", 1, False)
    assert model.port("Ethernet1").oper_up  # srv-01 still fed by pdu-b/1
    state.set_outlet("pdu-b", 1, False)
    port = model.port("Ethernet1")
    assert not port.oper_up and port.neighbor is None
    assert max(port.optic.rx_power_dbm) < -30  # no light
    assert model.port("Ethernet2").oper_up  # srv-02 unaffected


@pytest.mark.parametrize(
    "fault, match",
    [
        (Fault(device="leaf-1", kind="melted"), "cannot play fault 'melted'"),
        (Fault(device="leaf-1", kind="missing_cable"), "missing"),
        (Fault(device="leaf-1", kind="missing_cable", port="Ethernet99"), "no port 'Ethernet99'"),
        (Fault(device="leaf-1", kind="rising_crc", port="Ethernet1", per_second="fast"), "number"),
        (Fault(device="leaf-1", kind="swapped_cables", ports=["Ethernet1"]), "two ports"),
        (Fault(device="leaf-1", kind="no_answer", command="show", colour="red"), "unknown parameter"),
    ],
)
def test_bad_faults_are_config_errors(fault, match):
    with pytest.raises(ConfigError, match=match):
        _model("leaf-1", [fault])


def test_faults_change_what_the_switch_reports():
    faults = [
        Fault(device="leaf-1", kind="swapped_cables", ports=["Ethernet3", "Ethernet4"]),
        Fault(device="leaf-1", kind="missing_cable", port="Ethernet5"),
        Fault(device="leaf-1", kind="wrong_speed", port="Ethernet6", speed="25G"),
        Fault(device="leaf-1", kind="low_rx_power", port="Ethernet7", lane=2, dbm=-15.5),
        Fault(device="leaf-1", kind="firmware", firmware="4.20.1F"),
    ]
    model = _model("leaf-1", faults)
    ports = {p.name: p for p in model.ports()}
    assert ports["Ethernet3"].neighbor == ("srv-04", "eth0")
    assert ports["Ethernet4"].neighbor == ("srv-03", "eth0")
    assert not ports["Ethernet5"].oper_up and ports["Ethernet5"].present
    assert ports["Ethernet6"].speed == "25G"
    assert ports["Ethernet7"].optic.rx_power_dbm[1] == -15.5
    assert ports["Ethernet7"].optic.rx_power_dbm[0] > -3
    assert model.identity.firmware == "4.20.1F"


def test_host_key_is_fixed_per_switch(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert host_key("leaf-1", tmp_path / "a") == host_key("leaf-1", tmp_path / "b")
    assert host_key("leaf-1", tmp_path / "a") != host_key("leaf-2", tmp_path / "b")


def test_known_hosts_names_the_endpoint(tmp_path):
    (tmp_path / "again").mkdir()
    with switches_alone(RACK, tmp_path) as handles:
        for name, handle in handles.items():
            line = Path(handle.endpoint["known_hosts"]).read_text().strip()
            key = host_key(name, tmp_path / "again")
            assert line == f"[127.0.0.1]:{handle.endpoint['port']} ssh-ed25519 {key.get_base64()}"


def test_cross_device_outlet_off_takes_links_down(tmp_path):
    """Through the real PDU (SNMP) and switch (SSH) simulators in the simulated rack process."""
    sim = start_sim_process(RACK_FILE, [], workdir=tmp_path)
    session = RackSession(RACK, sim.overlay)
    try:
        pdus = [session.driver("pdu-a"), session.driver("pdu-b")]
        leaf1 = AristaEos(build_target(RACK, "leaf-1", sim.overlay), None)
        leaf2 = Sonic(build_target(RACK, "leaf-2", sim.overlay), None)
        try:
            assert leaf1.snapshot().interface("Ethernet2").oper_up
            for pdu in pdus:
                pdu.set_outlet(2, "off")  # both feeds of srv-02
            snap1, snap2 = leaf1.snapshot(), leaf2.snapshot()
            assert not snap1.interface("Ethernet2").oper_up
            assert not snap2.interface("Ethernet4").oper_up
            assert snap1.neighbors_on("Ethernet2") == [] and snap2.neighbors_on("Ethernet4") == []
            assert snap1.interface("Ethernet1").oper_up  # srv-01 still powered
        finally:
            for pdu in pdus:
                pdu.set_outlet(2, "on")
            assert leaf1.snapshot().interface("Ethernet2").oper_up
            leaf1.close()
            leaf2.close()
    finally:
        session.close()
        sim.stop()


def test_eos_uptime_wording_follows_the_captures():
    from simulators.eos_cli import uptime_text

    assert uptime_text((21 * 24 + 20) * 3600 + 45 * 60) == "3 weeks, 0 days, 20 hours and 45 minutes"
    assert uptime_text((2 * 24 + 15) * 3600 + 56 * 60) == "2 days, 15 hours and 56 minutes"
    assert uptime_text(3600 + 16 * 60) == "1 hour and 16 minutes"
    assert uptime_text(60) == "1 minute"


def test_eos_interfaces_status_rows_follow_port_state():
    from simulators.eos_cli import execute

    state = RackState(RACK)
    model = _model("leaf-1", state=state)
    state.set_outlet("pdu-a", 2, False)
    state.set_outlet("pdu-b", 2, False)  # both feeds of srv-02
    text, status = execute("show interfaces status", model.identity, model.ports(), 0)
    rows = {line.split()[0]: line for line in text.splitlines()[1:]}
    assert status == 0
    assert rows["Et1"].split()[1:] == ["connected", "1", "full", "100G", "100GBASE-SR4"]
    assert rows["Et2"].split()[1] == "notconnect"
    empty = next(p.name for p in model.ports() if not p.present)  # nothing cabled, no transceiver
    cells = rows[empty.replace("Ethernet", "Et")].split()[1:]
    assert cells == ["notconnect", "1", "full", "100G", "Not", "Present"]
    assert text.splitlines()[0].startswith("Port       Name   Status       Vlan     Duplex Speed  Type")
