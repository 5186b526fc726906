"""A generic SNMP agent (pysnmp 7 command responder) serving live, computed values.

A device simulator describes its MIB as a :class:`MibTree`: scalars and table
columns, each with a getter (called on every read, so values follow the
simulated rack) and optionally a setter. :class:`SnmpAgent` serves that tree on
UDP (127.0.0.1, ephemeral port) to SNMPv1/v2c communities and SNMPv3 USM users.

Behaviour worth knowing, because standard clients depend on it:

* GET on an unknown object answers ``noSuchObject``; on an unknown row of a
  known column ``noSuchInstance``; GETNEXT past the last OID ``endOfMibView``.
* GETBULK stops adding repetitions once every repeater has reached
  ``endOfMibView`` (as net-snmp's snmpd does) instead of repeating that row
  ``max-repetitions`` times, as pysnmp's stock responder does.
* SET is all-or-nothing: every varbind is checked before any is applied.
  Errors map to SNMP error-status: ``notWritable`` (read-only object, or not a
  known object), ``noCreation`` (unknown row of a known column), ``wrongType``
  (ASN.1 type differs from the object's syntax), ``wrongValue`` (setter refused
  the value).
* Every datagram goes through :class:`simulators.base.RequestGate` (one at a
  time, added latency, counted); ``silent`` drops datagrams after counting them,
  which looks exactly like a dead device to a client.
"""

from __future__ import annotations

import asyncio
import bisect
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pyasn1.type.base import Asn1Item
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import rfc1905
from pysnmp.proto.api import v2c
from pysnmp.smi import error as smi_error
from pysnmp.smi.instrum import AbstractMibInstrumController

from simulators.base import RequestGate

Oid = tuple[int, ...]

AUTH_PROTOCOLS = {
    "MD5": config.USM_AUTH_HMAC96_MD5,
    "SHA": config.USM_AUTH_HMAC96_SHA,
    "SHA224": config.USM_AUTH_HMAC128_SHA224,
    "SHA256": config.USM_AUTH_HMAC192_SHA256,
    "SHA384": config.USM_AUTH_HMAC256_SHA384,
    "SHA512": config.USM_AUTH_HMAC384_SHA512,
}
# net-snmp's AES192/AES256 are the Blumenthal key-extension variants.
PRIV_PROTOCOLS = {
    "DES": config.USM_PRIV_CBC56_DES,
    "AES": config.USM_PRIV_CFB128_AES,
    "AES192": config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES256": config.USM_PRIV_CFB256_AES_BLUMENTHAL,
}


def oid_of(text: str | Iterable[int]) -> Oid:
    if isinstance(text, str):
        return tuple(int(p) for p in text.strip(".").split("."))
    return tuple(int(p) for p in text)


# --------------------------------------------------------------------------
# the MIB model
# --------------------------------------------------------------------------
class SetError(Exception):
    """A setter's refusal; ``status`` is the SNMP error-status name."""

    status = "wrongValue"


class WrongValue(SetError):
    status = "wrongValue"


class InconsistentValue(SetError):
    status = "inconsistentValue"


@dataclass
class Variable:
    syntax: type[Asn1Item]
    getter: Callable[[], Any]
    setter: Callable[[Any], None] | None = None

    def read(self) -> Asn1Item:
        value = self.getter()
        if isinstance(value, Asn1Item):
            return value  # already typed (a fault may deliberately use another type)
        return self.syntax(value)


@dataclass
class MibTree:
    """An ordered set of object instances, each with live getter/setter."""

    _vars: dict[Oid, Variable] = field(default_factory=dict)
    _objects: set[Oid] = field(default_factory=set)  # scalar and column OIDs
    _sorted: list[Oid] = field(default_factory=list)

    def add_scalar(
        self,
        oid: str | Oid,
        syntax: type[Asn1Item],
        getter: Callable[[], Any],
        setter: Callable[[Any], None] | None = None,
    ) -> None:
        obj = oid_of(oid)
        self._objects.add(obj)
        self._add((*obj, 0), Variable(syntax, getter, setter))

    def add_column(
        self,
        oid: str | Oid,
        indexes: Iterable[int],
        syntax: type[Asn1Item],
        getter: Callable[[int], Any],
        setter: Callable[[int, Any], None] | None = None,
    ) -> None:
        column = oid_of(oid)
        self._objects.add(column)
        for index in indexes:
            self._add(
                (*column, index),
                Variable(
                    syntax,
                    (lambda i=index: getter(i)),
                    None if setter is None else (lambda value, i=index: setter(i, value)),
                ),
            )

    def add_rows(
        self,
        oid: str | Oid,
        rows: Iterable[tuple[int, ...]],
        syntax: type[Asn1Item],
        getter: Callable[[tuple[int, ...]], Any],
        setter: Callable[[tuple[int, ...], Any], None] | None = None,
    ) -> None:
        """A column whose rows have multi-part indexes (e.g. PDU2-MIB's pduId.outletId.sensorType)."""
        column = oid_of(oid)
        self._objects.add(column)
        for row in rows:
            self._add(
                (*column, *row),
                Variable(
                    syntax,
                    (lambda r=row: getter(r)),
                    None if setter is None else (lambda value, r=row: setter(r, value)),
                ),
            )

    def _add(self, oid: Oid, variable: Variable) -> None:
        if oid not in self._vars:
            bisect.insort(self._sorted, oid)
        self._vars[oid] = variable

    # -- reads ---------------------------------------------------------------
    def _object_of(self, oid: Oid) -> Oid | None:
        for n in range(len(oid) - 1, 0, -1):
            if oid[:n] in self._objects:
                return oid[:n]
        return None

    def get(self, oid: Oid) -> Asn1Item:
        variable = self._vars.get(oid)
        if variable is not None:
            return variable.read()
        if self._object_of(oid) is not None:
            return rfc1905.noSuchInstance
        return rfc1905.noSuchObject

    def next(self, oid: Oid) -> tuple[Oid, Asn1Item] | None:
        pos = bisect.bisect_right(self._sorted, oid)
        if pos >= len(self._sorted):
            return None
        nxt = self._sorted[pos]
        return nxt, self._vars[nxt].read()

    def oids(self) -> list[Oid]:
        return list(self._sorted)

    # -- writes --------------------------------------------------------------
    def check_set(self, oid: Oid, value: Any) -> Variable:
        """The variable ``oid`` if ``value`` may be written to it, else SetError."""
        variable = self._vars.get(oid)
        if variable is None:
            error = SetError(f"{'.'.join(map(str, oid))} does not exist")
            # a new row of a known table column cannot be created on this device
            error.status = "noCreation" if self._object_of(oid) else "notWritable"
            raise error
        if variable.setter is None:
            error = SetError("read-only")
            error.status = "notWritable"
            raise error
        if value.tagSet != variable.syntax.tagSet:
            error = SetError(f"expected {variable.syntax.__name__}")
            error.status = "wrongType"
            raise error
        return variable


_SET_ERRORS: dict[str, type[smi_error.SmiError]] = {
    "notWritable": smi_error.NotWritableError,
    "noCreation": smi_error.NoCreationError,
    "wrongType": smi_error.WrongTypeError,
    "wrongValue": smi_error.WrongValueError,
    "wrongLength": smi_error.WrongLengthError,
    "inconsistentValue": smi_error.InconsistentValueError,
    "commitFailed": smi_error.CommitFailedError,
}


class TreeInstrumentation(AbstractMibInstrumController):
    """Bridges pysnmp's command responders to a :class:`MibTree`."""

    def __init__(self, tree: MibTree) -> None:
        self.tree = tree

    def read_variables(self, *var_binds, **context):
        return [(name, self.tree.get(oid_of(name))) for name, _ in var_binds]

    def read_next_variables(self, *var_binds, **context):
        out = []
        for name, value in var_binds:
            if isinstance(value, rfc1905.EndOfMibView):
                out.append((name, rfc1905.endOfMibView))
                continue
            found = self.tree.next(oid_of(name))
            if found is None:
                out.append((name, rfc1905.endOfMibView))
            else:
                out.append((v2c.ObjectIdentifier(found[0]), found[1]))
        return out

    def write_variables(self, *var_binds, **context):
        checked = []
        for idx, (name, value) in enumerate(var_binds):
            try:
                checked.append((self.tree.check_set(oid_of(name), value), value))
            except SetError as exc:
                raise _SET_ERRORS.get(exc.status, smi_error.GenError)(name=name, idx=idx) from None
        # validation of every value happens in the setters' own checks first
        for idx, ((variable, value), (name, _)) in enumerate(zip(checked, var_binds, strict=True)):
            try:
                variable.setter(value)  # type: ignore[misc]
            except SetError as exc:
                raise _SET_ERRORS.get(exc.status, smi_error.GenError)(name=name, idx=idx) from None
        return [(name, self.tree.get(oid_of(name))) for name, _ in var_binds]


class _BulkResponder(cmdrsp.BulkCommandResponder):
    """GETBULK like net-snmp: no further rows once every repeater is at endOfMibView."""

    def handle_management_operation(self, snmpEngine, stateReference, contextName, PDU):
        non_repeaters = max(0, int(v2c.apiBulkPDU.get_non_repeaters(PDU)))
        max_repetitions = max(0, int(v2c.apiBulkPDU.get_max_repetitions(PDU)))
        req = v2c.apiPDU.get_varbinds(PDU)
        n = min(non_repeaters, len(req))
        r = max(len(req) - n, 0)
        m = min(max_repetitions, self.max_varbinds // r) if r else 0
        read_next = self.snmpContext.get_mib_instrum(contextName).read_next_variables
        rsp = list(read_next(*req[:n])) if n else []
        row = req[n:]
        while m and r:
            row = read_next(*row)
            rsp.extend(row)
            m -= 1
            if all(isinstance(v, rfc1905.EndOfMibView) for _, v in row):
                break
        if not rsp:
            raise smi_error.SmiError()
        self.send_varbinds(snmpEngine, stateReference, 0, 0, rsp)
        self.release_state_information(stateReference)


class _GatedUdpTransport(udp.UdpAsyncioTransport):
    """UDP server transport that admits each datagram through the agent's gate."""

    def __init__(self, agent: SnmpAgent, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self._agent = agent

    def datagram_received(self, datagram, transportAddress):
        task = self.loop.create_task(self._admit(datagram, transportAddress))
        self._agent._tasks.add(task)
        task.add_done_callback(self._agent._tasks.discard)

    async def _admit(self, datagram, address) -> None:
        await self._agent.gate.serve_async()
        if self._agent.silent or self._callback_function is None:
            return  # a silent device: counted, never answered
        self._callback_function(self, address, datagram)


@dataclass(frozen=True)
class UsmUser:
    name: str
    auth_protocol: str
    auth_key: str
    priv_protocol: str
    priv_key: str

    def __repr__(self) -> str:  # keys never print
        return f"UsmUser({self.name!r}, {self.auth_protocol}/{self.priv_protocol})"


class SnmpAgent:
    """A running SNMP agent serving one :class:`MibTree` on its own UDP port.

    Create it with :meth:`create` on the event loop that will serve it.
    """

    def __init__(
        self,
        tree: MibTree,
        *,
        gate: RequestGate,
        communities: Iterable[str] = (),
        users: Iterable[UsmUser] = (),
        host: str = "127.0.0.1",
    ) -> None:
        self.tree = tree
        self.gate = gate
        self.communities = list(communities)
        self.users = list(users)
        self.host = host
        self.port = 0
        self.silent = False
        self._engine: engine.SnmpEngine | None = None
        self._transport: _GatedUdpTransport | None = None
        self._tasks: set[asyncio.Task] = set()

    @classmethod
    async def create(cls, tree: MibTree, **kwargs: Any) -> SnmpAgent:
        """Build and start an agent from a coroutine running on its loop."""
        agent = cls(tree, **kwargs)
        agent.start(asyncio.get_running_loop())
        await asyncio.sleep(0)  # let the datagram endpoint attach to the socket
        return agent

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind and start serving. Must run on ``loop``'s thread, while it runs."""
        snmp_engine = engine.SnmpEngine()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        transport = _GatedUdpTransport(self, loop)
        transport.open_server_mode(sock=sock)
        config.add_transport(snmp_engine, udp.DOMAIN_NAME, transport)
        for i, community in enumerate(self.communities):
            config.add_v1_system(snmp_engine, f"area-{i}", community)
        for user in self.users:
            config.add_v3_user(
                snmp_engine,
                user.name,
                AUTH_PROTOCOLS[user.auth_protocol],
                user.auth_key,
                PRIV_PROTOCOLS[user.priv_protocol],
                user.priv_key,
            )
        snmp_context = context.SnmpContext(snmp_engine)
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", TreeInstrumentation(self.tree))
        cmdrsp.GetCommandResponder(snmp_engine, snmp_context)
        cmdrsp.NextCommandResponder(snmp_engine, snmp_context)
        _BulkResponder(snmp_engine, snmp_context)
        cmdrsp.SetCommandResponder(snmp_engine, snmp_context)
        self._engine, self._transport = snmp_engine, transport

    def close(self) -> None:
        """Stop serving. Call on the agent's event loop."""
        for task in list(self._tasks):
            task.cancel()
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None
