"""Credential references: env and file, masked values, no path escapes."""

from __future__ import annotations

import pytest

from drivers.base import Secret
from rackval.errors import ConfigError
from rackval.secrets import resolve_secret


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "racks").mkdir()
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "s.yaml").write_text("pdu_key: the-real-key-123\n")
    (tmp_path / "secrets" / "plain.txt").write_text("  whole-file-secret \n")
    return tmp_path


def test_file_reference_with_key_and_whole_file(tree):
    base = tree / "racks"
    assert resolve_secret("file:../secrets/s.yaml#pdu_key", base).reveal() == "the-real-key-123"
    assert resolve_secret("file:../secrets/plain.txt", base).reveal() == "whole-file-secret"


def test_env_reference(monkeypatch, tree):
    monkeypatch.setenv("RACKVAL_TEST_SECRET", "from-env-456")
    assert resolve_secret("env:RACKVAL_TEST_SECRET", tree).reveal() == "from-env-456"
    monkeypatch.delenv("RACKVAL_TEST_SECRET")
    with pytest.raises(ConfigError, match="environment variable RACKVAL_TEST_SECRET is not set"):
        resolve_secret("env:RACKVAL_TEST_SECRET", tree)


def test_secret_never_shows_itself():
    secret = Secret("hunter2-hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{secret}"


def test_missing_key_names_file_not_value(tree):
    with pytest.raises(ConfigError) as info:
        resolve_secret("file:../secrets/s.yaml#other", tree / "racks", what="devices.pdu-a.snmp.auth_key")
    assert "devices.pdu-a.snmp.auth_key" in str(info.value) and "no key 'other'" in str(info.value)
    assert "the-real-key-123" not in str(info.value)


@pytest.mark.parametrize("ref", ["file:/etc/passwd", "file:../../../../../etc/passwd", "file:~/.ssh/id_rsa"])
def test_secret_files_outside_the_rack_tree_are_refused(tree, ref):
    with pytest.raises(ConfigError, match="outside the rack's tree"):
        resolve_secret(ref, tree / "racks")


def test_station_secrets_dir_is_allowed(tmp_path, tree, monkeypatch):
    station = tmp_path.parent / f"{tmp_path.name}-station-secrets"
    station.mkdir()
    (station / "keys.yaml").write_text("k: station-key-789\n")
    with pytest.raises(ConfigError):
        resolve_secret(f"file:{station}/keys.yaml#k", tree / "racks")
    monkeypatch.setenv("RACKVAL_SECRETS_DIR", str(station))
    assert resolve_secret(f"file:{station}/keys.yaml#k", tree / "racks").reveal() == "station-key-789"
