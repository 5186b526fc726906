"""Insecure options work only when asked for, and say so."""

from __future__ import annotations

import logging

from rackval.devices import build_target
from rackval.model import load_rack_text
from tests.conftest import DEMO_RACK


def rack_with(old: str, new: str):
    text = DEMO_RACK.read_text()
    assert old in text
    rack = load_rack_text(text.replace(old, new, 1), name=str(DEMO_RACK))
    rack._source = DEMO_RACK  # resolve secrets relative to the real rack file
    return rack


def test_demo_rack_uses_snmpv3_authpriv_and_verified_host_keys():
    rack = load_rack_text(DEMO_RACK.read_text())
    for pdu in rack.devices_of("pdu").values():
        assert pdu.snmp.version == "3" and pdu.snmp.auth_key and pdu.snmp.priv_key
    for switch in rack.devices_of("switch").values():
        assert switch.ssh.accept_new_host_key is False


def test_snmpv2c_only_when_asked_and_with_a_warning(caplog):
    rack = rack_with(
        '      version: "3"\n      user: rackval\n',
        '      version: "2c"\n      community: file:../secrets/demo.yaml#pdu_auth_key\n      user: rackval\n',
    )
    with caplog.at_level(logging.WARNING, logger="rackval"):
        target = build_target(rack, "pdu-a")
    assert target.settings.version == "2c"
    assert any("SNMPv2c" in r.message and "pdu-a" in r.message for r in caplog.records)
    assert "demo-auth-key" not in caplog.text


def test_accepting_new_host_keys_only_when_asked_and_with_a_warning(caplog):
    rack = rack_with("      username: admin\n", "      username: admin\n      accept_new_host_key: true\n")
    with caplog.at_level(logging.WARNING, logger="rackval"):
        target = build_target(rack, "leaf-1")
    assert target.settings.accept_new_host_key is True
    assert any("host key" in r.message and "leaf-1" in r.message for r in caplog.records)
    with caplog.at_level(logging.WARNING, logger="rackval"):
        caplog.clear()
        build_target(load_rack_text(DEMO_RACK.read_text(), name=str(DEMO_RACK)), "leaf-2")
    assert not caplog.records


def test_snmpv1_is_accepted_with_a_community_and_warned_about(caplog):
    rack = rack_with(
        '      version: "3"\n      user: rackval\n',
        '      version: "1"\n      community: file:../secrets/demo.yaml#pdu_auth_key\n      user: rackval\n',
    )
    with caplog.at_level(logging.WARNING, logger="rackval"):
        target = build_target(rack, "pdu-a")
    assert target.settings.version == "1" and target.settings.community.reveal() == "demo-auth-key-0001"
    assert any("SNMPv1" in r.message and "clear text" in r.message for r in caplog.records)
    assert "demo-auth-key" not in caplog.text
