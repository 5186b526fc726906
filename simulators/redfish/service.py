"""One Redfish service over HTTPS: routing, authentication, sessions, headers, faults on the wire.

A :class:`RedfishService` subclass (the BMC, the power shelf, the CDU) builds its
resource tree (:meth:`RedfishService.tree`: path -> payload, computed afresh on
every request from the shared :class:`~simulators.state.RackState`) and its
actions (path -> handler). This module serves them as DSP0266 asks:

* ``/redfish`` (``{"v1": "/redfish/v1/"}``), the service root, ``$metadata``
  and ``/redfish/v1/odata`` without authentication; everything else needs
  a session token (``X-Auth-Token``) or HTTP Basic credentials -> else 401 with
  ``WWW-Authenticate`` and a Base-registry error body;
* sessions: ``POST /redfish/v1/SessionService/Sessions`` with UserName/Password
  -> 201 + ``X-Auth-Token`` + ``Location``; ``DELETE`` of the session logs out;
* ``OData-Version: 4.0``, ``ETag`` (If-None-Match -> 304, If-Match -> 412),
  ``Allow``, ``Link: <schema>; rel=describedby``; 404/405 with error bodies;
* faults common to every Redfish device: ``no_answer``, ``wrong_credentials``,
  ``http_500`` (optional path prefix), ``malformed_json``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from rackval.errors import ConfigError
from simulators.base import RequestGate, SimContext, SimHandle
from simulators.redfish import csdl, pki, schemas
from simulators.redfish.messages import error_body, message
from simulators.scenario import Fault, check_fault_params

log = logging.getLogger("rackval.sim.redfish")

ROOT = "/redfish/v1"
SESSIONS = f"{ROOT}/SessionService/Sessions"
PUBLIC = {"/redfish", f"{ROOT}", f"{ROOT}/$metadata", f"{ROOT}/odata"}
COMMON_FAULTS: dict[str, dict[str, type]] = {
    "no_answer": {},
    "wrong_credentials": {},
    "http_500": {"path": str},
    "malformed_json": {"path": str},
}
TLS_HANDSHAKE_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0

Payload = dict[str, Any]
ActionHandler = Callable[[Payload], "Reply"]


@dataclass
class Reply:
    status: int
    body: Any = None  # dict -> JSON; str -> as is (XML)
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=utf-8"


@dataclass
class Session:
    id: str
    token: str
    user: str
    created: str


def odata(path: str, type_name: str, **props: Any) -> Payload:
    """A resource's common annotations and ``Id`` (the last segment of its path)."""
    schema = schemas.BY_NAME[type_name]
    context_name = type_name if schema.version is None else f"{type_name}.{type_name}"
    return {
        "@odata.id": path,
        "@odata.type": schemas.odata_type(type_name),
        "@odata.context": f"{ROOT}/$metadata#{context_name}",
        **({} if type_name.endswith("Collection") else {"Id": path.rstrip("/").rsplit("/", 1)[-1]}),
        **props,
    }


def link(path: str) -> Payload:
    return {"@odata.id": path}


def collection(path: str, member_type: str, name: str, members: list[str]) -> Payload:
    return odata(
        path,
        f"{member_type}Collection",
        Name=name,
        Members=[link(m) for m in members],
        **{"Members@odata.count": len(members)},
    )


def status(state: str = "Enabled", health: str = "OK", rollup: str | None = None) -> Payload:
    s = {"State": state, "Health": health}
    if rollup is not None:
        s["HealthRollup"] = rollup
    return s


def excerpt(reading: float | None, source: str | None = None) -> Payload:
    value: Payload = {"Reading": None if reading is None else round(reading, 2)}
    if source:
        value["DataSourceUri"] = source
    return value


class RedfishService:
    """Base of the three Redfish simulators. Subclasses set ``kind`` and implement ``tree``."""

    driver = "redfish"
    kind = ""
    kind_faults: dict[str, dict[str, type]] = {}
    product = "rackval simulated Redfish service"
    vendor = "rackval"

    def __init__(self, ctx: SimContext, name: str) -> None:
        device = ctx.rack.devices.get(name)
        if device is None or device.kind != self.kind:
            raise ConfigError(f"simulator {self.driver}: {name!r} is not a {self.kind} of this rack")
        self.ctx = ctx
        self.name = name
        self.device = device
        self.state = ctx.state
        self.username: str = device.redfish.username
        self.password: str = ctx.resolve_secret(device.redfish.password)
        self.gate = RequestGate(latency_s=ctx.latency_s)
        self.uuid = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.{ctx.rack.rack.serial}.rackval"))
        self.sessions: dict[str, Session] = {}
        self._session_seq = 0
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.silent = False
        self.wrong_credentials = False
        self.http_500: list[str] = []
        self.malformed: list[str] = []
        self.counts = {"requests": 0, "logins": 0, "auth_failures": 0, "connections": 0, "refused": 0}
        self._apply_faults(ctx.faults)

    # -- faults ------------------------------------------------------------------
    def _apply_faults(self, faults: list[Fault]) -> None:
        known = {**COMMON_FAULTS, **self.kind_faults}
        for fault in faults:
            allowed = known.get(fault.kind)
            if allowed is None:
                raise ConfigError(
                    f"scenario: fault {fault.kind!r} on {self.name}: unknown for a {self.driver} device "
                    f"(known: {', '.join(sorted(known))})"
                )
            params = check_fault_params(fault, allowed)
            if fault.kind == "no_answer":
                self.silent = True
            elif fault.kind == "wrong_credentials":
                self.wrong_credentials = True
            elif fault.kind == "http_500":
                self.http_500.append(params.get("path", "/"))
            elif fault.kind == "malformed_json":
                self.malformed.append(params.get("path", "/"))
            else:
                self.apply_fault(fault, params)

    def apply_fault(self, fault: Fault, params: dict[str, Any]) -> None:  # overridden per kind
        raise NotImplementedError

    @staticmethod
    def required(fault: Fault, params: dict[str, Any], *keys: str) -> None:
        for key in keys:
            if key not in params:
                raise ConfigError(f"scenario: fault {fault.kind} on {fault.device}: {key} is required")

    # -- the tree ------------------------------------------------------------------
    def reachable(self) -> bool:
        """False while the device's controller has no power: connections are then closed at once."""
        return True

    def tree(self) -> dict[str, Payload]:
        raise NotImplementedError

    def actions(self) -> dict[str, ActionHandler]:
        return {}

    def firmware(self) -> list[tuple[str, str, str]]:
        """(id, name, version) of the firmware inventory."""
        return []

    def root_links(self) -> dict[str, str]:
        """Service-root navigation properties besides SessionService/UpdateService."""
        return {}

    def common_tree(self) -> dict[str, Payload]:
        tree: dict[str, Payload] = {}
        links = {k: link(v) for k, v in self.root_links().items()}
        tree[f"{ROOT}/"] = {
            **odata(f"{ROOT}/", "ServiceRoot", Id="RootService", Name="Root Service"),
            "RedfishVersion": "1.21.0",
            "UUID": self.uuid,
            "Product": self.product,
            "Vendor": self.vendor,
            "ProtocolFeaturesSupported": {
                "ExcerptQuery": False,
                "OnlyMemberQuery": False,
                "SelectQuery": False,
                "ExpandQuery": False,
            },
            **links,
            "SessionService": link(f"{ROOT}/SessionService"),
            "UpdateService": link(f"{ROOT}/UpdateService"),
            "Links": {"Sessions": link(SESSIONS)},
        }
        tree[f"{ROOT}/SessionService"] = odata(
            f"{ROOT}/SessionService",
            "SessionService",
            Name="Session Service",
            ServiceEnabled=True,
            SessionTimeout=1800,
            Status=status(),
            Sessions=link(SESSIONS),
        )
        with self.lock:
            sessions = list(self.sessions.values())
        tree[SESSIONS] = collection(
            SESSIONS, "Session", "Session Collection", [f"{SESSIONS}/{s.id}" for s in sessions]
        )
        for s in sessions:
            tree[f"{SESSIONS}/{s.id}"] = odata(
                f"{SESSIONS}/{s.id}",
                "Session",
                Name=f"Session {s.id}",
                UserName=s.user,
                SessionType="Redfish",
                CreatedTime=s.created,
            )
        inventory = f"{ROOT}/UpdateService/FirmwareInventory"
        tree[f"{ROOT}/UpdateService"] = odata(
            f"{ROOT}/UpdateService",
            "UpdateService",
            Name="Update Service",
            ServiceEnabled=False,
            Status=status(),
            FirmwareInventory=link(inventory),
        )
        items = self.firmware()
        tree[inventory] = collection(
            inventory, "SoftwareInventory", "Firmware Inventory", [f"{inventory}/{i}" for i, _, _ in items]
        )
        for item_id, item_name, version in items:
            tree[f"{inventory}/{item_id}"] = odata(
                f"{inventory}/{item_id}",
                "SoftwareInventory",
                Name=item_name,
                Version=version,
                Updateable=True,
                SoftwareId=item_id,
                Status=status(),
            )
        return tree

    # -- sessions and auth -------------------------------------------------------------
    def _credentials_ok(self, user: str, password: str) -> bool:
        if self.wrong_credentials:
            return False
        return hmac.compare_digest(user.encode(), self.username.encode()) and hmac.compare_digest(
            password.encode(), self.password.encode()
        )

    def _authenticated(self, headers: Any) -> str | None:
        """The user name, or None."""
        token = headers.get("X-Auth-Token")
        if token:
            with self.lock:
                for s in self.sessions.values():
                    if hmac.compare_digest(s.token, token):
                        return s.user
            return None
        auth = headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            if self._credentials_ok(user, password):
                return user
        return None

    def _login(self, body: Payload) -> Reply:
        user, password = body.get("UserName"), body.get("Password")
        for key, value in (("UserName", user), ("Password", password)):
            if not isinstance(value, str):
                return Reply(400, error_body("PropertyMissing", key))
        assert isinstance(user, str) and isinstance(password, str)
        if not self._credentials_ok(user, password):
            self.counts["auth_failures"] += 1
            return self._unauthorized(SESSIONS, "ResourceAtUriUnauthorized", SESSIONS, "Unauthorized")
        with self.lock:
            self._session_seq += 1
            session = Session(
                id=str(self._session_seq),
                token=secrets.token_hex(16),
                user=user,
                created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            self.sessions[session.id] = session
            self.counts["logins"] += 1
        location = f"{SESSIONS}/{session.id}"
        body = self.tree_with_common()[location]
        return Reply(201, body, {"X-Auth-Token": session.token, "Location": location})

    def _unauthorized(self, path: str, message_id: str = "NoValidSession", *args: Any) -> Reply:
        return Reply(401, error_body(message_id, *args), {"WWW-Authenticate": 'Basic realm="Redfish"'})

    # -- requests ----------------------------------------------------------------
    def tree_with_common(self) -> dict[str, Payload]:
        tree = self.common_tree()
        tree.update(self.tree())
        return tree

    def schema_documents(self) -> dict[str, str]:
        docs = {s.uri: csdl.document(s, schemas.ALL) for s in schemas.ALL}
        docs[f"{csdl.SCHEMA_BASE}RedfishExtensions_v1.xml"] = csdl.REDFISH_EXTENSIONS
        return docs

    def odata_document(self, tree: dict[str, Payload]) -> Payload:
        root = tree[f"{ROOT}/"]
        value = [{"name": "Service", "kind": "Singleton", "url": f"{ROOT}/"}]
        for key, item in root.items():
            if isinstance(item, dict) and set(item) == {"@odata.id"}:
                value.append({"name": key, "kind": "Singleton", "url": item["@odata.id"]})
        return {"@odata.context": f"{ROOT}/$metadata", "value": value}

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> Reply:
        path = urlsplit(raw_path).path
        if path != f"{ROOT}/" and path.endswith("/"):
            path = path.rstrip("/")
        if path == ROOT:
            path = f"{ROOT}/"
        for prefix in self.http_500:
            if path.startswith(prefix):
                return Reply(500, error_body("InternalError"))
        if path == "/redfish":
            return self._get_only(method, {"v1": f"{ROOT}/"})
        if path == f"{ROOT}/$metadata":
            return self._get_only(
                method,
                csdl.metadata([*schemas.ALL], schemas.SERVICE_ROOT),
                content_type="application/xml;charset=utf-8",
            )
        is_login = method == "POST" and path == SESSIONS
        user = None
        if path not in (f"{ROOT}/", f"{ROOT}/odata") and not is_login:
            user = self._authenticated(headers)
            if user is None:
                self.counts["auth_failures"] += 1
                return self._unauthorized(path)
        if path.startswith(csdl.SCHEMA_BASE):
            doc = self.schema_documents().get(path)
            if doc is None:
                return Reply(404, error_body("ResourceNotFound", "Schema", path.rsplit("/", 1)[-1]))
            return self._get_only(method, doc, content_type="application/xml;charset=utf-8")
        tree = self.tree_with_common()
        if path == f"{ROOT}/odata":
            return self._get_only(method, self.odata_document(tree))
        actions = self.actions()
        if path in actions:
            if method != "POST":
                return Reply(405, error_body("OperationNotAllowed"), {"Allow": "POST"})
            payload = self._json(body)
            if payload is None:
                return Reply(400, error_body("MalformedJSON"))
            return actions[path](payload)
        if "/Actions/" in path:
            return Reply(404, error_body("ActionNotSupported", path.rsplit("/", 1)[-1]))
        resource = tree.get(path)
        if resource is None:
            kind = path.rstrip("/").rsplit("/", 2)[-2] if path.count("/") > 2 else "Resource"
            return Reply(404, error_body("ResourceNotFound", kind, path.rsplit("/", 1)[-1]))
        allow = self._allow(path)
        etag = 'W/"' + hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()[:16] + '"'
        extra = {"Allow": ", ".join(allow), "ETag": etag}
        if method not in allow:
            return Reply(405, error_body("OperationNotAllowed"), extra)
        if_match = headers.get("If-Match")
        if method in ("DELETE", "PATCH", "PUT") and if_match and if_match not in ("*", etag):
            return Reply(412, error_body("PreconditionFailed"), extra)
        if method in ("GET", "HEAD"):
            if headers.get("If-None-Match") in (etag, "*"):
                return Reply(304, None, extra)
            return Reply(200, resource, {**extra, "Link": self._describedby(resource)})
        if method == "POST" and path == SESSIONS:
            return self._login(self._json(body) or {})
        if method == "DELETE" and path.startswith(f"{SESSIONS}/"):
            with self.lock:
                self.sessions.pop(path.rsplit("/", 1)[-1], None)
            return Reply(200, {"@Message.ExtendedInfo": [message("Success")]})
        return Reply(405, error_body("OperationNotAllowed"), extra)

    def _allow(self, path: str) -> list[str]:
        if path == SESSIONS:
            return ["GET", "HEAD", "POST"]
        if path.startswith(f"{SESSIONS}/"):
            return ["GET", "HEAD", "DELETE"]
        return ["GET", "HEAD"]

    @staticmethod
    def _describedby(resource: Payload) -> str:
        type_name = str(resource.get("@odata.type", "#Resource")).lstrip("#").split(".")[0]
        return f"<{csdl.SCHEMA_BASE}{type_name}_v1.xml>; rel=describedby"

    @staticmethod
    def _json(body: bytes) -> Payload | None:
        if not body:
            return {}
        try:
            value = json.loads(body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _get_only(
        self, method: str, body: Any, content_type: str = "application/json;charset=utf-8"
    ) -> Reply:
        if method not in ("GET", "HEAD"):
            return Reply(405, error_body("OperationNotAllowed"), {"Allow": "GET, HEAD"})
        return Reply(200, body, {"Allow": "GET, HEAD"}, content_type)

    def garbles(self, path: str, status_code: int) -> bool:
        return status_code == 200 and any(urlsplit(path).path.startswith(p) for p in self.malformed)

    # -- serving -----------------------------------------------------------------------
    def start(self) -> SimHandle:
        ca = pki.rack_ca(self.ctx.workdir.parent)
        cert, key = pki.issue(ca, f"{self.name} Redfish service", self.ctx.workdir)
        self.tls = pki.server_context(cert, key)
        self.server = _Server((self.ctx.host, 0), _Handler, self)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(0.1,), name=f"redfish-{self.name}", daemon=True
        )
        self._thread.start()
        return SimHandle(
            name=self.name,
            endpoint={
                "host": self.ctx.host,
                "port": self.port,
                "protocol": "redfish",
                "ca_file": str(ca.cert_file.resolve()),
            },
            stop=self.stop,
            stats=self.stats,
            state=self.sim_state,
        )

    def stats(self) -> dict[str, Any]:
        return {**self.counts, "requests": self.gate.requests, "sessions": len(self.sessions)}

    def sim_state(self) -> dict[str, Any]:
        return {}

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type, service: RedfishService) -> None:
        self.service = service
        super().__init__(address, handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:  # type: ignore[override]
        service = self.service
        service.counts["connections"] += 1
        try:
            if not service.reachable():
                service.counts["refused"] += 1
                request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                return
            if service.silent:
                while not service.stopping.wait(0.2):
                    pass
                return
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body: no Nagle stall
            request.settimeout(TLS_HANDSHAKE_TIMEOUT_S)
            try:
                tls = service.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            tls.settimeout(READ_TIMEOUT_S)
            try:
                self.finish_request(tls, client_address)
            except Exception:  # a client going away mid-request
                log.debug("%s: connection ended", service.name, exc_info=True)
            finally:
                with contextlib.suppress(OSError):
                    tls.close()
        finally:
            self.shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rackval-redfish"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s: " + format, self.server.service.name, *args)  # type: ignore[attr-defined]

    def _serve(self) -> None:
        service: RedfishService = self.server.service  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not service.reachable():  # lost power while the connection was open
            self.close_connection = True
            return
        service.gate.serve_sync()
        reply = service.handle(self.command, self.path, self.headers, body)
        if isinstance(reply.body, str):
            data = reply.body.encode()
        elif reply.body is None:
            data = b""
        else:
            data = json.dumps(reply.body, indent=1).encode()
        if service.garbles(self.path, reply.status) and data:
            data = data[: max(1, len(data) // 2)]
        self.send_response(reply.status)
        self.send_header("OData-Version", "4.0")
        if self.close_connection:  # the client asked for it (sushy does): say so (RFC 9112 9.6)
            self.send_header("Connection", "close")
        self.send_header("Cache-Control", "no-cache")
        if reply.status != 304:
            self.send_header("Content-Type", reply.content_type)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(0 if reply.status == 304 else len(data)))
        self.end_headers()
        if self.command != "HEAD" and reply.status != 304:
            self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def sensor(
    path: str,
    reading_type: str,
    reading: float,
    units: str,
    context: str,
    caution: float | None = None,
    critical: float | None = None,
    low: bool = False,
) -> Payload:
    """A Sensor resource; its health follows the (upper, or ``low``: lower) thresholds."""
    health = "OK"
    if critical is not None and (reading <= critical if low else reading >= critical):
        health = "Critical"
    elif caution is not None and (reading <= caution if low else reading >= caution):
        health = "Warning"
    body = odata(
        path,
        "Sensor",
        Name=path.rsplit("/", 1)[-1],
        Reading=round(reading, 2),
        ReadingUnits=units,
        ReadingType=reading_type,
        PhysicalContext=context,
        Status=status("Enabled", health),
    )
    side = "Lower" if low else "Upper"
    thresholds = {}
    if caution is not None:
        thresholds[f"{side}Caution"] = {"Reading": caution}
    if critical is not None:
        thresholds[f"{side}Critical"] = {"Reading": critical}
    if thresholds:
        body["Thresholds"] = thresholds
    return body


def worst(*healths: str) -> str:
    order = ["OK", "Warning", "Critical"]
    return max(healths, key=order.index) if healths else "OK"


def manager(
    tree: dict[str, Payload],
    name: str,
    manager_type: str,
    model: str,
    serial: str,
    firmware: str,
    uuid_: str,
    servers: list[str] = (),  # type: ignore[assignment]
    chassis: list[str] = (),  # type: ignore[assignment]
) -> str:
    path = f"{ROOT}/Managers/1"
    tree[f"{ROOT}/Managers"] = collection(f"{ROOT}/Managers", "Manager", "Manager Collection", [path])
    links: Payload = {}
    if servers:
        links["ManagerForServers"] = [link(s) for s in servers]
    if chassis:
        links["ManagerForChassis"] = [link(c) for c in chassis]
    tree[path] = odata(
        path,
        "Manager",
        Name=name,
        ManagerType=manager_type,
        Manufacturer="rackval-sim",
        Model=model,
        SerialNumber=serial,
        FirmwareVersion=firmware,
        UUID=uuid_,
        PowerState="On",
        Status=status(),
        Links=links,
    )
    return path
