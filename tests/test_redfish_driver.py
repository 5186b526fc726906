"""The Redfish drivers against the Redfish simulator over real HTTPS (certificates verified).

Sessions and basic auth, a certificate from another CA rejected, a pinned
certificate accepted and a wrong pin rejected, timeouts, wrong credentials,
500s and malformed JSON as typed errors naming device and resource, and
Reset changing the tray, its PDU outlets and its switch links.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import ssl
import time
from pathlib import Path

import pytest

from drivers.errors import DeviceAuthError, DeviceError, DeviceReportedError, DeviceTimeout, ParseError
from drivers.redfish import RedfishBmc, RedfishCdu, RedfishPowerShelf
from rackval.devices import build_target
from rackval.model import load_rack
from simulators.rack import SimulatedRack
from simulators.scenario import Fault, Scenario
from tests.conftest import ROOT

RACK = load_rack(ROOT / "fixtures" / "racks" / "demo.yaml")


def _sim(tmp: Path, *faults: dict) -> SimulatedRack:
    scenario = Scenario(name="test", faults=[Fault(**f) for f in faults])
    sim = SimulatedRack(RACK, scenario, workdir=tmp)
    sim.start()
    return sim


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    simulated = _sim(tmp_path_factory.mktemp("rf"))
    yield simulated
    simulated.stop()


def _driver(sim, name, cls=RedfishBmc, **settings):
    target = build_target(RACK, name, sim.endpoints())
    if settings:
        target = dataclasses.replace(target, settings=dataclasses.replace(target.settings, **settings))
    return cls(target)


def test_tray_snapshot_matches_the_rack_file(sim):
    drv = _driver(sim, "tray-01")
    try:
        snap = drv.snapshot()
    finally:
        drv.close()
    want = RACK.devices["tray-01"].inventory
    assert (snap.model, snap.serial, snap.power_state) == ("GPU-NODE-8X", "SN-TRAY-0001", "On")
    assert snap.cpus == want.cpus and snap.memory_gib >= want.memory_gib
    assert len(snap.gpus) == want.gpus and {g.model for g in snap.gpus} == {want.gpu_model}
    assert snap.nics == want.nics
    for component in ("bmc", "bios", "gpu", "nic"):
        assert set(snap.firmware[component]) == {getattr(want.firmware, component)}, component
    assert snap.sensors and all(s.reading is not None for s in snap.sensors)


@pytest.mark.parametrize("auth", ["session", "basic"])
def test_identity_over_session_and_basic_auth(sim, auth):
    drv = _driver(sim, "tray-02", auth=auth)
    try:
        ident = drv.identity()
    finally:
        drv.close()
    assert (ident.model, ident.serial, ident.firmware) == ("GPU-NODE-8X", "SN-TRAY-0002", "1.4.2")


def test_power_shelf_and_cdu_snapshots(sim):
    shelf = _driver(sim, "shelf-1-pmc", RedfishPowerShelf)
    cdu = _driver(sim, "cdu-1", RedfishCdu)
    try:
        s, c = shelf.snapshot(), cdu.snapshot()
    finally:
        shelf.close()
        cdu.close()
    assert len(s.psus) == 6 and all(p.status.healthy for p in s.psus)
    assert s.output_v == pytest.approx(48, abs=2.4)
    assert c.flow_lpm and c.flow_lpm > 0 and c.return_temp_c > c.supply_temp_c
    assert len(c.leaks) == 4 and {d.state for d in c.leaks} == {"OK"}


def _other_ca(tmp_path: Path) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the rack's CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "other-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def test_a_certificate_from_another_ca_is_rejected(sim, tmp_path):
    drv = _driver(sim, "tray-01", ca_file=_other_ca(tmp_path), retries=0)
    with pytest.raises(DeviceAuthError, match=r"tray-01: .*certificate"):
        drv.identity()


def test_a_pinned_certificate_is_accepted_and_a_wrong_pin_rejected(sim):
    endpoint = sim.endpoints()["tray-03"]
    pem = ssl.get_server_certificate((endpoint["host"], endpoint["port"]))
    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    good = _driver(sim, "tray-03", ca_file=None, pinned_sha256=fingerprint)
    try:
        assert good.identity().serial == "SN-TRAY-0003"
    finally:
        good.close()
    bad = _driver(sim, "tray-03", ca_file=None, pinned_sha256="00" * 32, retries=0)
    with pytest.raises(DeviceAuthError, match="tray-03"):
        bad.identity()


def test_reset_changes_power_state_outlet_current_and_links(sim):
    drv = _driver(sim, "tray-04")
    feeds = [f for f in RACK.power if f.load == "srv-04"]
    try:
        before = [sim.state.outlet_current(f.device, f.index) for f in feeds]
        drv.reset("ForceOff")
        assert drv.power_state() == "Off"
        after = [sim.state.outlet_current(f.device, f.index) for f in feeds]
        assert all(a < b / 2 for a, b in zip(after, before, strict=True))
        assert not sim.state.host_running("srv-04")
        drv.reset("On")
        deadline = time.monotonic() + 10
        while drv.power_state() != "On" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert drv.power_state() == "On"
        assert sim.state.host_running("srv-04")
    finally:
        drv.set_power("On")
        drv.close()


def test_outlets_off_take_the_tray_down(sim):
    feeds = [f for f in RACK.power if f.load == "srv-05"]
    drv = _driver(sim, "tray-05", retries=0, timeout_s=2)
    try:
        for f in feeds:
            sim.state.set_outlet(f.device, f.index, False)
        try:  # a BMC without power does not answer; one on standby power reports Off
            state = drv.power_state()
        except DeviceError as exc:
            assert str(exc).startswith("tray-05: ")
        else:
            assert state == "Off"
    finally:
        for f in feeds:
            sim.state.set_outlet(f.device, f.index, True)
        drv.close()


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        ({"kind": "wrong_credentials"}, DeviceAuthError, "tray-06: authentication failed during login"),
        ({"kind": "no_answer"}, DeviceTimeout, "tray-06: timeout during"),
        ({"kind": "http_500"}, DeviceReportedError, "500"),
        ({"kind": "malformed_json"}, ParseError, "malformed JSON"),
    ],
)
def test_bmc_faults_are_typed_errors_naming_device_and_resource(tmp_path, fault, error, text):
    sim = _sim(tmp_path, {"device": "tray-06", **fault})
    try:
        drv = _driver(sim, "tray-06", timeout_s=1.0, retries=0)
        with pytest.raises(error, match=text) as exc:
            drv.snapshot()
        assert "/redfish/v1" in str(exc.value) or "login" in str(exc.value)
    finally:
        sim.stop()
