"""A pysnmp :class:`SnmpEngine` that loads its MIB modules from bytecode.

Why: every ``SnmpEngine()`` builds its own MIB tree from pysnmp's bundled MIB
modules (``pysnmp/smi/mibs/*.py``). pysnmp's loader never uses the bytecode
that pip compiled at install: it looks for a legacy ``X.pyc`` beside the source,
then (when ``__debug__``, i.e. always under pytest) runs the module with
``runpy.run_path(X.py)``, compiling each module twice. That is ~80% of an
engine's start-up (~0.1 s of CPU, under the GIL, per engine; one engine per
SNMP device), paid again for every PDU of a rack.

:class:`BytecodeMibSource` hands pysnmp the ``__pycache__`` file instead when it
is fresh for its source (the same timestamp and size check as Python's own
import system); otherwise it falls back to pysnmp's own behaviour. The MIB tree
built is the same: only where its code comes from differs.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import struct
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import SnmpEngine
from pysnmp.proto.rfc3412 import MsgAndPduDispatcher
from pysnmp.smi.builder import DirMibSource, MibBuilder
from pysnmp.smi.instrum import MibInstrumController

_HEADER = 16  # magic, flags, source mtime, source size (PEP 552)
_BYTECODE = ".pyc"


def fresh_bytecode(source: str) -> bytes | None:
    """The marshalled code in ``source``'s ``__pycache__`` file, if it matches the source.

    A timestamp-based pyc matches when it records the source's mtime and size;
    hash-based pycs and anything unreadable count as no bytecode.
    """
    try:
        cached = importlib.util.cache_from_source(source)
        with open(cached, "rb") as f:
            data = f.read()
        st = os.stat(source)
    except OSError:  # no pyc (or no source) to read
        return None
    if len(data) < _HEADER or data[:4] != importlib.util.MAGIC_NUMBER:
        return None
    flags, mtime, size = struct.unpack("<III", data[4:_HEADER])
    if flags != 0 or mtime != int(st.st_mtime) & 0xFFFFFFFF or size != st.st_size & 0xFFFFFFFF:
        return None
    return data[_HEADER:]


class BytecodeMibSource(DirMibSource):
    """pysnmp's directory MIB source, reading fresh ``__pycache__`` bytecode first."""

    def read(self, f: str) -> tuple[Any, str]:
        code = fresh_bytecode(os.path.join(self._srcName, f + ".py"))
        if code is None:
            return super().read(f)
        return marshal.loads(code), _BYTECODE

    def full_path(self, f: str = "", sfx: str = "") -> str:
        # the path pysnmp's loader runs (runpy.run_path reads a pyc without compiling)
        if sfx == _BYTECODE:
            return importlib.util.cache_from_source(os.path.join(self._srcName, f + ".py"))
        return super().full_path(f, sfx)


def mib_builder() -> MibBuilder:
    """pysnmp's default MIB builder, its directory sources read through bytecode."""
    builder = MibBuilder()
    builder.set_mib_sources(
        *(
            BytecodeMibSource(s.full_path()) if type(s) is DirMibSource else s
            for s in builder.get_mib_sources()
        )
    )
    return builder


def new_engine() -> SnmpEngine:
    """A new SnmpEngine, as ``SnmpEngine()`` builds it but with MIBs from bytecode."""
    return SnmpEngine(msgAndPduDsp=MsgAndPduDispatcher(MibInstrumController(mib_builder())))
