"""Operators' PINs and badges in the station file: salted scrypt hashes, and the legacy SHA-256."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rackval.cli import app
from rackval.errors import ConfigError
from rackval.station import load_station_text
from rackval.web.auth import Auth, code_matches, hash_code, legacy_hash_warnings, scrypt_hash

BASE = "station: {id: S1}\ninstruments: {}\noperators:\n"


def test_scrypt_hash_is_salted_and_verifies_only_its_code():
    one, two = scrypt_hash("4711"), scrypt_hash("4711")
    assert one.startswith("scrypt$16384$8$1$") and one != two  # a fresh salt each time
    assert code_matches(one, "4711") and code_matches(two, " 4711\n")  # a scanner's Enter
    assert not code_matches(one, "4712") and not code_matches(one, "")
    assert "4711" not in one


def test_a_fixed_salt_gives_a_fixed_hash():
    salt = bytes(range(16))
    assert scrypt_hash("BADGE-1", salt) == scrypt_hash("BADGE-1", salt)
    assert scrypt_hash("BADGE-1", salt) != scrypt_hash("BADGE-2", salt)


def test_station_file_takes_scrypt_and_legacy_hashes_and_warns_of_legacy():
    station = load_station_text(
        BASE
        + f"  - {{name: alice, pin_hash: '{scrypt_hash('1111')}'}}\n"
        + f"  - {{name: bob, pin_sha256: {hash_code('2222')}, badge_hash: '{scrypt_hash('B-2')}'}}\n"
    )
    auth = Auth(station.operators)
    assert auth.check_code("1111") == "alice"
    assert auth.check_code("2222") == "bob"  # the legacy SHA-256 still logs bob in
    assert auth.check_code("B-2") == "bob"
    assert auth.check_code("3333") is None
    assert legacy_hash_warnings(station.operators) == [
        "operator bob: pin_sha256 is an unsalted hash; replace it with pin_hash from "
        "`rackval station hash-pin`"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43, "power of two"),
        ("scrypt$2147483648$8$1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43, "pin_hash"),
        ("scrypt$16384$8$1$short$" + "A" * 43, "pin_hash"),
        ("sha256$abc", "pin_hash"),
    ],
)
def test_a_malformed_hash_is_a_located_error(value, message):
    with pytest.raises(ConfigError) as info:
        load_station_text(BASE + f"  - {{name: alice, pin_hash: '{value}'}}\n")
    text = str(info.value)
    assert "station.yaml:4" in text and "operators.0" in text and message in text


def test_hash_pin_prints_a_hash_that_verifies():
    result = CliRunner().invoke(app, ["station", "hash-pin", "9876"])
    assert result.exit_code == 0, result.output
    printed = result.output.strip()
    assert code_matches(printed, "9876") and "9876" not in printed
    assert CliRunner().invoke(app, ["station", "hash-pin", "  "]).exit_code == 2
