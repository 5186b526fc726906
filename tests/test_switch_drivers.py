"""Both switch drivers against the switch simulator over real SSH (exec and shell)."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import paramiko
import pytest

from drivers.eos import AristaEos
from drivers.errors import CommandRejected, DeviceAuthError, DeviceTimeout, SessionDropped
from drivers.sonic import Sonic
from rackval.devices import build_target
from rackval.model import load_rack
from simulators.scenario import Fault
from simulators.switch_ssh import switches_alone

ROOT = Path(__file__).resolve().parent.parent
RACK = load_rack(ROOT / "fixtures" / "racks" / "demo.yaml")
DRIVERS = {"leaf-1": AristaEos, "leaf-2": Sonic}


def _driver(handles, name, *, mode="exec", timeout_s=None, **ssh):
    target = build_target(RACK, name, {n: h.endpoint for n, h in handles.items()})
    if timeout_s is not None:
        ssh["timeout_s"] = timeout_s
    target = dataclasses.replace(target, settings=dataclasses.replace(target.settings, **ssh))
    return DRIVERS[name](target, None, mode=mode)


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    with switches_alone(RACK, tmp_path_factory.mktemp("sims")) as handles:
        yield handles


@pytest.mark.parametrize("mode", ["exec", "shell"])
@pytest.mark.parametrize("name", ["leaf-1", "leaf-2"])
def test_snapshot_matches_the_cabling_plan(sims, name, mode):
    drv = _driver(sims, name, mode=mode)
    try:
        snap = drv.snapshot()
    finally:
        drv.close()
    expected = RACK.devices[name].expected
    assert (snap.identity.model, snap.identity.firmware) == (expected.model, expected.firmware)
    assert len(snap.interfaces) == 32
    planned = {}
    for link in RACK.cabling:
        for (dev, port), (far_dev, far_port) in (link.ends, link.ends[::-1]):
            if dev == name:
                planned[port] = (far_dev, far_port, link.speed)
    seen = {n.local_port: (n.system_name, n.port_id) for n in snap.neighbors}
    assert seen == {port: (d, p) for port, (d, p, _) in planned.items()}
    for port, (_, _, speed) in planned.items():
        iface = snap.interface(port)
        assert iface.oper_up and iface.speed_mbps == int(speed[:-1]) * 1000
        xcvr = snap.transceiver(port)
        assert xcvr is not None and len(xcvr.lanes) == (8 if speed == "400G" else 4)
        assert all(-3 < lane.rx_power_dbm < 1 for lane in xcvr.lanes)
    assert {c.port for c in snap.counters} >= set(planned)


def test_one_session_is_reused(sims):
    drv = _driver(sims, "leaf-1")
    try:
        before = sims["leaf-1"].stats()["connections"]
        drv.snapshot()
        drv.counters()
        assert sims["leaf-1"].stats()["connections"] == before + 1
    finally:
        drv.close()


def test_an_idle_session_wakes_seldom_and_still_closes_at_once(sims):
    """The transport thread polls its socket every TRANSPORT_POLL_S, not paramiko's 0.1 s.

    Closing does not wait for that poll: the transport is inactive as soon as
    ``close()`` returns, and a command after it opens a new session.
    """
    from drivers import ssh

    drv = _driver(sims, "leaf-1")
    try:
        drv.identity()
        transport = drv._ssh._client.get_transport()
        assert transport.sock.gettimeout() == ssh.TRANSPORT_POLL_S > 0.1
        before = sims["leaf-1"].stats()["connections"]
        drv.close()
        assert not transport.is_active()
        assert drv.identity().firmware == "4.30.4M"
        assert sims["leaf-1"].stats()["connections"] == before + 1
    finally:
        drv.close()


def test_rejected_command_names_switch_and_command(sims):
    drv = _driver(sims, "leaf-1")
    try:
        with pytest.raises(CommandRejected) as err:
            drv._ssh.run("show bogus | json")
        assert "leaf-1" in str(err.value) and "show bogus | json" in str(err.value)
    finally:
        drv.close()
    sonic = _driver(sims, "leaf-2", mode="shell")
    try:
        with pytest.raises(CommandRejected):
            sonic._ssh.run("show nothing")  # shell mode: no exit status, the text tells
    finally:
        sonic.close()


def test_unknown_host_key_is_rejected(sims, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    drv = _driver(sims, "leaf-2", known_hosts=str(empty))
    with pytest.raises(DeviceAuthError, match="not in the known-hosts file"):
        drv.identity()
    drv.close()


def test_changed_host_key_is_rejected(sims, tmp_path):
    other = paramiko.Ed25519Key(filename=str(_write_key(tmp_path)))
    port = sims["leaf-2"].endpoint["port"]
    kh = tmp_path / "known_hosts_changed"
    kh.write_text(f"[127.0.0.1]:{port} {other.get_name()} {other.get_base64()}\n")
    drv = _driver(sims, "leaf-2", known_hosts=str(kh))
    with pytest.raises(DeviceAuthError, match="does not match"):
        drv.identity()
    drv.close()


def test_accepting_a_new_host_key_is_explicit_and_logged(sims, tmp_path, caplog):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    drv = _driver(sims, "leaf-2", known_hosts=str(empty), accept_new_host_key=True)
    with caplog.at_level(logging.WARNING, logger="rackval.ssh"):
        assert drv.identity().model == "Mellanox-SN2700"
    drv.close()
    assert any("accepting unknown SSH host key" in r.getMessage() for r in caplog.records)


def _write_key(tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = tmp_path / "id_ed25519"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    return path


def test_key_authentication(tmp_path):
    """A rack whose switch uses key_file: the simulator authorizes the key's public half."""
    key = _write_key(tmp_path)
    text = (ROOT / "fixtures" / "racks" / "demo.yaml").read_text()
    text = text.replace("../limits/", str(ROOT / "fixtures" / "limits") + "/").replace(
        "../secrets/", str(ROOT / "fixtures" / "secrets") + "/"
    )
    text = text.replace("../stations/", str(ROOT / "fixtures" / "stations") + "/")
    text = text.replace(
        "      username: admin\n      password: file:"
        + str(ROOT / "fixtures" / "secrets")
        + "/demo.yaml#switch_password\n",
        f"      username: admin\n      key_file: file:{key}\n",
    )
    rack_file = tmp_path / "rack.yaml"
    rack_file.write_text(text)
    rack = load_rack(rack_file)
    assert rack.devices["leaf-1"].ssh.password is None
    with switches_alone(rack, tmp_path / "sims") as handles:
        target = build_target(rack, "leaf-1", {n: h.endpoint for n, h in handles.items()})
        drv = AristaEos(target, None)
        try:
            assert drv.identity().firmware == "4.30.4M"
        finally:
            drv.close()


def test_wrong_password_is_an_auth_error_without_the_secret(tmp_path):
    faults = [Fault(device="leaf-1", kind="wrong_credentials")]
    with switches_alone(RACK, tmp_path, faults) as handles:
        drv = _driver(handles, "leaf-1")
        with pytest.raises(DeviceAuthError) as err:
            drv.identity()
        drv.close()
    assert "leaf-1" in str(err.value)
    assert "demo-switch-password" not in str(err.value) + repr(drv._ssh)


def test_hanging_command_times_out(tmp_path):
    faults = [Fault(device="leaf-2", kind="no_answer", command="show lldp")]
    with switches_alone(RACK, tmp_path, faults) as handles:
        drv = _driver(handles, "leaf-2", timeout_s=1.0)
        assert drv.identity().model == "Mellanox-SN2700"  # other commands answer
        with pytest.raises(DeviceTimeout) as err:
            drv.neighbors()
        assert "leaf-2" in str(err.value) and "show lldp table" in str(err.value)
        assert drv.identity().model == "Mellanox-SN2700"  # a new session after the timeout
        drv.close()


@pytest.mark.parametrize("mode", ["exec", "shell"])
def test_dropped_session_is_reopened_once(tmp_path, mode):
    faults = [Fault(device="leaf-1", kind="drop_session", command="show lldp")]
    with switches_alone(RACK, tmp_path, faults) as handles:
        drv = _driver(handles, "leaf-1", mode=mode, timeout_s=5.0)
        with pytest.raises(SessionDropped) as err:
            drv.neighbors()
        assert "leaf-1" in str(err.value) and "show lldp neighbors" in str(err.value)
        # one first connection, one reopen for the read-only command, no more
        assert handles["leaf-1"].stats()["connections"] == 2
        assert drv.identity().firmware == "4.30.4M"  # and the switch is usable again
        drv.close()


def test_counters_rise_under_the_crc_fault(tmp_path):
    faults = [Fault(device="leaf-2", kind="rising_crc", port="Ethernet8", per_second=50)]
    with switches_alone(RACK, tmp_path, faults) as handles:
        drv = _driver(handles, "leaf-2")
        first = {c.port: c for c in drv.counters()}
        time.sleep(0.5)
        later = {c.port: c for c in drv.counters()}
        drv.close()
    assert first["Ethernet8"].delta(later["Ethernet8"]).fcs_errors > 0
    assert first["Ethernet4"].delta(later["Ethernet4"]).fcs_errors == 0
    assert first["Ethernet4"].fcs_errors >= 0
