"""The SNMP engine factory builds pysnmp's own MIB tree, from bytecode when it is fresh."""

from __future__ import annotations

import os
import py_compile
from pathlib import Path

from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from drivers.snmp_engine import BytecodeMibSource, fresh_bytecode, mib_builder, new_engine

MODULE = "mibBuilder.exportSymbols('TEST-MIB', answer={value})\n"


def _symbols(engine: SnmpEngine) -> dict[str, set[str]]:
    return {m: set(s) for m, s in engine.get_mib_builder().mibSymbols.items()}


def test_the_engine_has_the_same_mib_tree_as_pysnmps_default():
    ours, theirs = new_engine(), SnmpEngine()
    assert _symbols(ours) == _symbols(theirs)
    assert "SNMP-USER-BASED-SM-MIB" in _symbols(ours)
    assert ours.snmpEngineID != theirs.snmpEngineID  # each engine its own ID, as pysnmp's


def test_pysnmps_bundled_mibs_are_read_from_their_bytecode():
    sources = [s for s in mib_builder().get_mib_sources() if isinstance(s, BytecodeMibSource)]
    assert sources, "no pysnmp MIB directory wrapped"
    code, suffix = sources[0].read("SNMPv2-SMI")
    # pip compiles at install; a checkout without __pycache__ would read the source instead
    assert suffix == ".pyc" and code.co_filename.endswith("SNMPv2-SMI.py")
    assert sources[0].full_path("SNMPv2-SMI", ".pyc").endswith(".pyc")


def _mib_dir(tmp_path: Path, value: int) -> Path:
    source = tmp_path / "TEST-MIB.py"
    source.write_text(MODULE.format(value=value))
    py_compile.compile(str(source), doraise=True)
    return source


def test_fresh_bytecode_is_used_and_stale_bytecode_is_not(tmp_path: Path):
    source = _mib_dir(tmp_path, 1)
    mib_source = BytecodeMibSource(str(tmp_path)).init()
    _code, suffix = mib_source.read("TEST-MIB")
    assert suffix == ".pyc"

    source.write_text(MODULE.format(value=22))  # a different size: the pyc no longer matches
    assert fresh_bytecode(str(source)) is None
    code, suffix = mib_source.read("TEST-MIB")
    assert suffix == ".py" and 22 in code.co_consts
    assert mib_source.full_path("TEST-MIB", suffix) == str(source)


def test_bytecode_with_another_mtime_or_hash_based_is_not_fresh(tmp_path: Path):
    source = _mib_dir(tmp_path, 1)
    assert fresh_bytecode(str(source)) is not None
    st = source.stat()
    os.utime(source, (st.st_atime, st.st_mtime + 10))
    assert fresh_bytecode(str(source)) is None

    checked_hash = py_compile.PycInvalidationMode.CHECKED_HASH
    py_compile.compile(str(source), doraise=True, invalidation_mode=checked_hash)
    assert fresh_bytecode(str(source)) is None  # hash-based: left to pysnmp's own loader


def test_a_source_without_bytecode_is_read_from_source(tmp_path: Path):
    source = tmp_path / "TEST-MIB.py"
    source.write_text(MODULE.format(value=3))
    assert fresh_bytecode(str(source)) is None
    _code, suffix = BytecodeMibSource(str(tmp_path)).init().read("TEST-MIB")
    assert suffix == ".py"
