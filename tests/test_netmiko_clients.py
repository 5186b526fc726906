"""Other people's tools for the real devices, against the switch simulators: netmiko.

netmiko's ``arista_eos`` session set-up waits for EOS's own replies ("Width set to 511
columns.", "Pagination disabled."); community SONiC logs in to bash, so the SONiC
simulator is driven with netmiko's ``linux`` type (netmiko's ``dell_sonic`` and
``edgecore_sonic`` types expect the Enterprise SONiC ``sonic-cli`` shell instead).
netmiko's TextFSM parsing (ntc-templates) then reads the simulator's text as it reads
a real switch's. Host keys are checked strictly against the simulator's known-hosts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rackval.model import load_rack
from rackval.secrets import secret_resolver
from simulators.switch_ssh import switches_alone
from tests.conftest import DEMO_RACK, SHARED, require, services_required

try:
    import netmiko
except ImportError:  # pragma: no cover - the dev extra installs it
    netmiko = None

RACK = load_rack(DEMO_RACK)


def _shared(name: str) -> str:
    """A real capture from ../shared; skipped when absent, except in CI."""
    path = SHARED / "device-outputs" / name
    if not path.exists():
        if os.environ.get("CI") or services_required():
            pytest.fail(f"{path} is missing (CI)")
        pytest.skip(f"{path} not available")
    return path.read_text()


@pytest.fixture(scope="module")
def handles(tmp_path_factory):
    require(netmiko is not None, "the netmiko package (dev extra)")
    with switches_alone(RACK, tmp_path_factory.mktemp("netmiko")) as running:
        yield running


def _connect(handles, name: str, device_type: str, log: Path | None = None):
    endpoint = handles[name].endpoint
    ssh = RACK.devices[name].ssh
    password = secret_resolver(RACK.base_dir)(ssh.password)
    return netmiko.ConnectHandler(
        device_type=device_type,
        host=endpoint["host"],
        port=endpoint["port"],
        username=ssh.username,
        password=password,
        ssh_strict=True,  # unknown host key: refuse
        system_host_keys=False,
        alt_host_keys=True,
        alt_key_file=endpoint["known_hosts"],
        use_keys=False,
        allow_agent=False,
        conn_timeout=10,
        session_log=None if log is None else str(log),
    )


def test_arista_eos_session_setup_and_show_version(handles, tmp_path):
    log = tmp_path / "eos-session.log"
    conn = _connect(handles, "leaf-1", "arista_eos", log)
    try:
        assert conn.base_prompt == "leaf-1"
        assert conn.check_enable_mode()  # the demo user logs in privileged ("#")
        conn.enable()
        version = conn.send_command("show version")
        assert version.startswith("Arista DCS-7050CX3-32S\n")
        assert "Software image version: 4.30.4M" in version
        parsed = conn.send_command("show version", use_textfsm=True)
        assert isinstance(parsed, list), parsed  # ntc-templates recognised the format
        assert parsed[0]["model"] == "DCS-7050CX3-32S" and parsed[0]["image"] == "4.30.4M"
    finally:
        conn.disconnect()
    text = log.read_text()
    assert "terminal width 511" in text and "Width set to 511 columns." in text
    assert "terminal length 0" in text and "Pagination disabled." in text


def test_arista_eos_show_interfaces_status_and_lldp(handles):
    conn = _connect(handles, "leaf-1", "arista_eos")
    try:
        status = conn.send_command("show interfaces status")
        rows = conn.send_command("show interfaces status", use_textfsm=True)
        neighbors = conn.send_command("show lldp neighbors", use_textfsm=True)
    finally:
        conn.disconnect()
    assert status.splitlines()[0].split() == [
        "Port",
        "Name",
        "Status",
        "Vlan",
        "Duplex",
        "Speed",
        "Type",
        "Flags",
        "Encapsulation",
    ]
    assert isinstance(rows, list) and len(rows) == RACK.devices["leaf-1"].ports
    by_port = {r["port"]: r for r in rows}
    assert by_port["Et1"]["status"] == "connected" and by_port["Et1"]["speed"] == "100G"
    assert by_port["Et1"]["type"] == "100GBASE-SR4"
    assert isinstance(neighbors, list)
    assert {"local_interface": "Et3", "neighbor_name": "srv-03", "neighbor_interface": "eth0"} in neighbors


def test_eos_interfaces_status_header_matches_a_real_capture(handles):
    capture = _shared("eos__show_interfaces_status__text__ntc_encap.raw").splitlines()[0]
    conn = _connect(handles, "leaf-1", "arista_eos")
    try:
        ours = conn.send_command("show interfaces status").splitlines()[0]
    finally:
        conn.disconnect()

    def columns(header: str) -> list[tuple[str, int]]:
        return [(word, header.index(word)) for word in header.split()]

    assert [w for w, _ in columns(ours)] == [w for w, _ in columns(capture)]
    # with empty names the fixed columns start where the real switch puts them
    # (Type and later move with the width of the widest Type cell)
    assert columns(ours)[:7] == columns(capture)[:7]


def test_linux_type_against_sonic(handles):
    conn = _connect(handles, "leaf-2", "linux")
    try:
        assert conn.base_prompt == "admin@leaf-2:~"
        version = conn.send_command("show version")
        presence = conn.send_command("show interfaces transceiver presence")
        status = conn.send_command("show interfaces status")
    finally:
        conn.disconnect()
    assert "SONiC Software Version: SONiC.202311.1" in version
    assert "HwSKU: Mellanox-SN2700" in version
    lines = presence.splitlines()
    assert lines[:2] == ["Port         Presence", "-----------  -----------"]
    assert "Ethernet0    Present" in lines and "Ethernet32   Not present" in lines
    assert "Ethernet124" in status
