"""One small SNMP client over pysnmp 7 (asyncio only), shared by every SNMP driver.

Why a wrapper: pysnmp reports failures three different ways (an ``errorIndication``
object, an ``errorStatus`` in the response PDU, and exception-valued varbinds such
as ``noSuchInstance``). Drivers want one thing: a value, or a typed
:mod:`drivers.errors` exception that names the device and the OID.

Rules this module enforces:

* one :class:`~pysnmp.hlapi.v3arch.asyncio.SnmpEngine` reused for every request (a
  new engine per request costs engine start-up and v3 discovery each time, ~30x
  slower), its MIB modules loaded from bytecode (:mod:`drivers.snmp_engine`). Clients
  on one :class:`~drivers.aio.LoopThread` with the same credentials share one engine
  (:meth:`LoopThread.shared`): a new engine and its v3 user cost ~43 ms of CPU
  (16 ms the engine, 27 ms the user's keys and pysnmp's configuration writes),
  paid by every PDU of a rack before its first answer otherwise. Each client
  keeps its own target; the engine's one UDP socket serves them all, matched by
  request id. Credentials differ: engines differ (pysnmp's configuration keeps
  one set of keys per user name);
* every call has a timeout; reads are retried up to ``retries`` times on timeout;
  a SET is sent exactly once (pysnmp's own retransmission is disabled);
* secrets are revealed only where they are handed to pysnmp, and no message
  built here contains one.

All coroutines must run on one event loop (e.g. :class:`drivers.aio.LoopThread`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyasn1.type.base import Asn1Item
from pyasn1.type.univ import Integer, OctetString
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
)
from pysnmp.hlapi.v3arch.asyncio import auth as _auth
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto import errind, rfc1905
from pysnmp.proto.rfc1902 import Counter32, Gauge32, Integer32, ObjectName, TimeTicks, Unsigned32

from drivers.aio import LoopThread
from drivers.base import Secret, Target
from drivers.errors import (
    DeviceAuthError,
    DeviceError,
    DeviceProtocolError,
    DeviceReportedError,
    DeviceTimeout,
)
from drivers.snmp_engine import new_engine

AUTH_PROTOCOLS = {
    "MD5": _auth.USM_AUTH_HMAC96_MD5,
    "SHA": _auth.USM_AUTH_HMAC96_SHA,
    "SHA224": _auth.USM_AUTH_HMAC128_SHA224,
    "SHA256": _auth.USM_AUTH_HMAC192_SHA256,
    "SHA384": _auth.USM_AUTH_HMAC256_SHA384,
    "SHA512": _auth.USM_AUTH_HMAC384_SHA512,
}
# AES192/AES256 follow net-snmp's naming (the Blumenthal key extension); net-snmp
# calls the Cisco/Reeder variant AES192C/AES256C, which rack files do not offer.
PRIV_PROTOCOLS = {
    "DES": _auth.USM_PRIV_CBC56_DES,
    "AES": _auth.USM_PRIV_CFB128_AES,
    "AES192": _auth.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES256": _auth.USM_PRIV_CFB256_AES_BLUMENTHAL,
}

# errorIndications that mean "your credentials are wrong", as opposed to "no answer".
_AUTH_INDICATIONS = (
    errind.WrongDigest,
    errind.UnknownUserName,
    errind.DecryptionError,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
    errind.UnknownSecurityName,
    errind.UnsupportedSecurityLevel,
    errind.NotInTimeWindow,
    errind.UnknownCommunityName,
)

_INTEGER_TYPES = (Integer, Integer32, Gauge32, Counter32, Unsigned32, TimeTicks)
_LCD = CommandGeneratorLcdConfigurator()  # the target/credential configuration hlapi's commands use
DEFAULT_MAX_REPETITIONS = 24


def normalize_oid(oid: str | Iterable[int]) -> str:
    """Dotted numeric OID without a leading dot: ``".1.3.6" -> "1.3.6"``."""
    if not isinstance(oid, str):
        return ".".join(str(int(x)) for x in oid)
    text = oid.strip().lstrip(".")
    parts = text.split(".")
    if not text or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a numeric OID: {oid!r}")
    return ".".join(str(int(p)) for p in parts)


def _oid_tuple(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.split("."))


# --------------------------------------------------------------------------
# value decoding: every driver goes through these, so a garbled answer is an
# error and never a plausible wrong number.
# --------------------------------------------------------------------------
def decode_int(value: Any, device: str, oid: str) -> int:
    """An SNMP integer-like value (INTEGER, Gauge32...) as ``int``; anything else raises."""
    if isinstance(value, bool) or not isinstance(value, _INTEGER_TYPES):
        raise DeviceProtocolError(device, f"GET {oid}", f"expected an integer, got {_type_name(value)}")
    try:
        return int(value)
    except Exception:  # pyasn1 raises on an uninitialised value
        raise DeviceProtocolError(device, f"GET {oid}", "integer without a value") from None


def decode_str(value: Any, device: str, oid: str) -> str:
    """An OCTET STRING (DisplayString) as text; anything else raises."""
    if not isinstance(value, OctetString):
        raise DeviceProtocolError(device, f"GET {oid}", f"expected a string, got {_type_name(value)}")
    raw = bytes(value)
    try:
        return raw.decode("utf-8").rstrip("\x00")
    except UnicodeDecodeError:
        return raw.decode("latin-1").rstrip("\x00")


def decode_enum(value: Any, mapping: Mapping[int, str], device: str, oid: str) -> str:
    """An enumerated INTEGER mapped through ``mapping``; unknown numbers raise."""
    number = decode_int(value, device, oid)
    try:
        return mapping[number]
    except KeyError:
        allowed = ", ".join(f"{v}({k})" for k, v in sorted(mapping.items()))
        raise DeviceProtocolError(device, f"GET {oid}", f"value {number} is not one of {allowed}") from None


def decode_scaled(value: Any, divisor: int, device: str, oid: str, *, minimum: int = 0) -> float:
    """A fixed-point integer (e.g. tenths of amps: divisor 10) as ``float``.

    Values below ``minimum`` (APC reports -1 for "not supported") raise rather
    than turn into a negative reading.
    """
    number = decode_int(value, device, oid)
    if number < minimum:
        raise DeviceProtocolError(device, f"GET {oid}", f"value {number} is out of range (minimum {minimum})")
    return number / divisor


def _type_name(value: Any) -> str:
    return type(value).__name__


# --------------------------------------------------------------------------
@dataclass(frozen=True)
class SnmpSettings:
    """How to talk SNMP to one agent (built by the PDU kind from the rack file)."""

    version: str = "3"  # "1", "2c" or "3"
    community: Secret | None = None
    user: str | None = None
    auth_protocol: str = "SHA"
    auth_key: Secret | None = None
    priv_protocol: str = "AES"
    priv_key: Secret | None = None
    timeout_s: float = 2.0
    retries: int = 1
    max_repetitions: int = DEFAULT_MAX_REPETITIONS


class SnmpClient:
    """SNMP GET/SET/GETBULK-walk against one target, with typed errors.

    ``target.settings`` is an :class:`SnmpSettings`; the rack model has already
    checked it is complete (a community for v2c, authPriv for v3).
    """

    def __init__(self, target: Target, loop: LoopThread | None = None) -> None:
        self.target = target
        self._loop = loop  # shares its engines among the clients on it; None: an engine of its own
        self.device = target.name
        settings: SnmpSettings = target.settings or SnmpSettings()
        self.version = settings.version
        self.timeout_s = settings.timeout_s
        self.retries = settings.retries
        self.max_repetitions = settings.max_repetitions
        self._auth = self._auth_data(settings)
        self._engine: SnmpEngine | None = None
        self._transport: UdpTransportTarget | None = None
        self._context = ContextData()

    # -- configuration -------------------------------------------------------
    def _auth_data(self, s: SnmpSettings) -> CommunityData | UsmUserData:
        if s.version in ("1", "2c"):
            if s.community is None:
                raise DeviceAuthError(self.device, "SNMP setup", f"SNMPv{s.version} needs a community")
            return CommunityData(_reveal(s.community), mpModel=0 if s.version == "1" else 1)
        if s.version != "3":
            raise DeviceProtocolError(self.device, "SNMP setup", f"unsupported SNMP version {s.version!r}")
        if not s.user or s.auth_key is None or s.priv_key is None:
            raise DeviceAuthError(self.device, "SNMP setup", "SNMPv3 needs user, auth_key and priv_key")
        return UsmUserData(
            s.user,
            authKey=_reveal(s.auth_key),
            privKey=_reveal(s.priv_key),
            authProtocol=AUTH_PROTOCOLS[s.auth_protocol],
            privProtocol=PRIV_PROTOCOLS[s.priv_protocol],
        )

    def _credentials_key(self) -> str:
        """What decides which engine a client may share: its SNMP version and credentials, hashed."""
        auth = self._auth
        if isinstance(auth, CommunityData):
            parts = ["community", str(auth.message_processing_model), str(auth.communityName)]
        else:
            parts = [
                "usm",
                str(auth.userName),
                str(auth.authentication_protocol),
                str(auth.authentication_key),
                str(auth.privacy_protocol),
                str(auth.privacy_key),
            ]
        return "snmp-engine:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()

    async def _ensure(self) -> tuple[SnmpEngine, UdpTransportTarget]:
        if self._engine is None:
            if self._loop is None:
                self._engine = new_engine()
            else:
                self._engine = self._loop.shared(self._credentials_key(), new_engine, _close_engine)
        if self._transport is None:
            try:
                # pysnmp retransmission disabled: retries are ours, and reads only.
                self._transport = await UdpTransportTarget.create(
                    (self.target.host, self.target.port), timeout=self.timeout_s, retries=0
                )
            except Exception as exc:
                raise DeviceProtocolError(
                    self.device, "SNMP setup", f"bad address {self.target.host}: {exc}"
                ) from None
        return self._engine, self._transport

    def close(self) -> None:
        """Release the engine's socket (a shared engine's: the loop does, as it closes). Call on the loop."""
        engine, self._engine, self._transport = self._engine, None, None
        if engine is not None and self._loop is None:
            _close_engine(engine)

    # -- public API ----------------------------------------------------------
    async def get(self, *oids: str) -> dict[str, Any]:
        """GET ``oids``; returns ``{oid: value}`` in request order.

        A missing object (noSuchObject/noSuchInstance) raises DeviceProtocolError.
        """
        names = [normalize_oid(o) for o in oids]
        operation = f"GET {names[0]}" + (f" (+{len(names) - 1} more)" if len(names) > 1 else "")
        var_binds = await self._read(
            operation,
            lambda engine, transport: self._send(
                engine, transport, cmdgen.GetCommandGenerator().send_varbinds, _requested(names)
            ),
            names,
        )
        result: dict[str, Any] = {}
        for name, (oid, value) in zip(names, var_binds, strict=False):
            self._check_value(f"GET {name}", oid, value)
            result[name] = value
        if len(result) != len(names):
            raise DeviceProtocolError(
                self.device, operation, f"{len(var_binds)} values for {len(names)} OIDs"
            )
        return result

    async def set(self, oid: str, value: Asn1Item) -> None:
        """SET one variable. Sent exactly once: a timeout is reported, never retried."""
        name = normalize_oid(oid)
        operation = f"SET {name}"
        engine, transport = await self._ensure()
        error_indication, error_status, error_index, _var_binds = await self._guarded(
            operation,
            self._send(
                engine, transport, cmdgen.SetCommandGenerator().send_varbinds, [(ObjectName(name), value)]
            ),
        )
        self._check_response(operation, error_indication, error_status, error_index, [name])

    async def walk(self, oid: str) -> list[tuple[str, Any]]:
        """Every ``(oid, value)`` under ``oid``, in order, using GETBULK."""
        name = normalize_oid(oid)
        table = await self.walk_columns(name)
        return [(f"{name}.{index}", value) for index, value in table[name].items()]

    async def walk_columns(self, *columns: str) -> dict[str, dict[str, Any]]:
        """Walk several table columns side by side, one GETBULK stream for all.

        Returns ``{column: {index: value}}`` where ``index`` is the OID suffix
        below the column (``"7"`` for outlet 7). Requests carry one repeater per
        column still unfinished, so a 24-row, 3-column table costs ~2 requests.
        """
        bases = [normalize_oid(c) for c in columns]
        if self.version == "1":
            return {b: await self._walk_v1(b) for b in bases}
        prefixes = {b: _oid_tuple(b) for b in bases}
        result: dict[str, dict[str, Any]] = {b: {} for b in bases}
        cursor = {b: prefixes[b] for b in bases}
        active = list(bases)
        operation = f"GETBULK {', '.join(bases)}"
        while active:
            reps = max(1, self.max_repetitions // len(active))
            positions = [".".join(map(str, cursor[b])) for b in active]
            var_binds = await self._read(
                operation,
                lambda engine, transport, positions=positions, reps=reps: self._send(
                    engine,
                    transport,
                    cmdgen.BulkCommandGenerator().send_varbinds,
                    _requested(positions),
                    0,
                    reps,
                ),
                positions,
            )
            if not var_binds:
                raise DeviceProtocolError(self.device, operation, "empty GETBULK response")
            finished: set[str] = set()
            progressed = False
            for i, (oid, value) in enumerate(var_binds):
                base = active[i % len(active)]
                if base in finished:
                    continue
                oid_t = _oid_tuple(str(oid))
                prefix = prefixes[base]
                if _is_end(value) or oid_t[: len(prefix)] != prefix:
                    finished.add(base)
                    continue
                if oid_t <= cursor[base]:
                    raise DeviceProtocolError(
                        self.device, operation, f"OID not increasing at {'.'.join(map(str, oid_t))}"
                    )
                self._check_value(operation, oid, value)
                cursor[base] = oid_t
                result[base][".".join(map(str, oid_t[len(prefix) :]))] = value
                progressed = True
            active = [b for b in active if b not in finished]
            if active and not progressed:
                raise DeviceProtocolError(self.device, operation, "GETBULK made no progress")
        return result

    async def _walk_v1(self, base: str) -> dict[str, Any]:
        """SNMPv1 has no GETBULK: GETNEXT row by row; noSuchName past the last row ends the walk."""
        prefix = _oid_tuple(base)
        cursor = prefix
        rows: dict[str, Any] = {}
        operation = f"GETNEXT {base}"
        while True:
            position = ".".join(map(str, cursor))
            try:
                var_binds = await self._read(
                    operation,
                    lambda engine, transport, position=position: self._send(
                        engine, transport, cmdgen.NextCommandGenerator().send_varbinds, _requested([position])
                    ),
                    [position],
                )
            except DeviceReportedError as exc:
                if "noSuchName" in exc.detail:
                    return rows
                raise
            if not var_binds:
                raise DeviceProtocolError(self.device, operation, "empty GETNEXT response")
            oid, value = var_binds[0]
            oid_t = _oid_tuple(str(oid))
            if _is_end(value) or oid_t[: len(prefix)] != prefix:
                return rows
            if oid_t <= cursor:
                raise DeviceProtocolError(self.device, operation, f"OID not increasing at {oid}")
            self._check_value(operation, oid, value)
            cursor = oid_t
            rows[".".join(map(str, oid_t[len(prefix) :]))] = value

    # -- plumbing ------------------------------------------------------------
    async def _read(self, operation: str, make_call, names: list[str]) -> list[tuple[Any, Any]]:
        """Run a read request with bounded retries on timeout only."""
        attempts = self.retries + 1
        for attempt in range(attempts):
            engine, transport = await self._ensure()
            try:
                error_indication, error_status, error_index, var_binds = await self._guarded(
                    operation, make_call(engine, transport)
                )
                self._check_response(operation, error_indication, error_status, error_index, names)
            except DeviceTimeout:
                if attempt + 1 >= attempts:
                    raise
                continue
            return [(vb[0], vb[1]) for vb in var_binds]
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self, engine: SnmpEngine, transport: UdpTransportTarget, send, var_binds: list, *bulk: int
    ) -> tuple[Any, Any, Any, Any]:
        """One request, as hlapi's ``get_cmd`` & co. send it but without their MIB lookups.

        hlapi resolves every requested OID through the engine's MIB view (the MIB
        symbol it belongs to) before sending, which was a third of a PDU read's
        CPU; rackval asks by numeric OID and never uses the symbol. Responses come
        back as raw ``(ObjectName, value)`` pairs, as ``lookupMib=False`` gives.
        """
        addr_name, _params = _LCD.configure(engine, self._auth, transport, self._context.contextName)
        future = asyncio.get_running_loop().create_future()

        def done(_engine, _handle, error_indication, error_status, error_index, var_binds, _ctx) -> None:
            if not future.cancelled():
                future.set_result((error_indication, error_status, error_index, var_binds))

        context = self._context
        send(engine, addr_name, context.contextEngineId, context.contextName, *bulk, var_binds, done, None)
        return await future

    async def _guarded(self, operation: str, coro) -> tuple[Any, Any, Any, Any]:
        """Await a pysnmp call with a hard deadline on top of pysnmp's own timer."""
        try:
            return await asyncio.wait_for(coro, self.timeout_s + 1.0)
        except TimeoutError:
            raise DeviceTimeout(self.device, operation, f"no answer within {self.timeout_s:g} s") from None
        except DeviceError:
            raise
        except Exception as exc:  # undecodable reply, pyasn1 errors, pysnmp internals
            raise DeviceProtocolError(self.device, operation, f"{type(exc).__name__}: {exc}") from None

    def _check_response(
        self,
        operation: str,
        error_indication: Any,
        error_status: Any,
        error_index: Any,
        names: list[str],
    ) -> None:
        if error_indication:
            if isinstance(error_indication, errind.RequestTimedOut):
                hint = " (wrong community?)" if self.version in ("1", "2c") else ""
                raise DeviceTimeout(
                    self.device,
                    operation,
                    f"no answer within {self.timeout_s:g} s{hint}",
                )
            if isinstance(error_indication, _AUTH_INDICATIONS):
                raise DeviceAuthError(self.device, operation, str(error_indication))
            raise DeviceProtocolError(self.device, operation, str(error_indication))
        if error_status and int(error_status):
            index = int(error_index or 0)
            where = names[index - 1] if 0 < index <= len(names) else operation
            status = error_status.prettyPrint() if hasattr(error_status, "prettyPrint") else str(error_status)
            raise DeviceReportedError(self.device, operation, f"{status} at {where}")

    def _check_value(self, operation: str, oid: Any, value: Any) -> None:
        if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance):
            kind = "noSuchObject" if isinstance(value, rfc1905.NoSuchObject) else "noSuchInstance"
            raise DeviceProtocolError(self.device, operation, f"{kind} at {oid}")
        if _is_end(value):
            raise DeviceProtocolError(self.device, operation, f"endOfMibView at {oid}")


def _close_engine(engine: SnmpEngine) -> None:
    with contextlib.suppress(Exception):
        engine.close_dispatcher()


def _requested(oids: list[str]) -> list[tuple[ObjectName, Any]]:
    """Varbinds asking for ``oids``, with the empty value hlapi sends (a value, not a pyasn1 schema)."""
    return [(ObjectName(oid), rfc1905.unSpecified) for oid in oids]


def _is_end(value: Any) -> bool:
    return isinstance(value, rfc1905.EndOfMibView)


def _reveal(value: Any) -> str:
    """The one place a credential is unwrapped: when it is handed to pysnmp."""
    if isinstance(value, Secret):
        return value.reveal()
    return str(value)


__all__ = [
    "AUTH_PROTOCOLS",
    "PRIV_PROTOCOLS",
    "SnmpClient",
    "SnmpSettings",
    "decode_enum",
    "decode_int",
    "decode_scaled",
    "decode_str",
    "normalize_oid",
]
