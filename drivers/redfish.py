"""Redfish drivers on the DMTF python-redfish-library: tray BMCs, power shelves, CDUs.

:class:`RedfishSession` wraps the library once: HTTPS verified against a CA
file or a pinned certificate (or not at all, when asked), session or basic
login, a timeout on every request, retries on reads only, and typed errors
naming the device and the resource (``tray-03: authentication failed during
GET /redfish/v1/Systems/1: 401``). The drivers navigate from the service root
by ``@odata.id``; they never build a resource path themselves.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal

import redfish
import requests
from redfish.rest.v1 import (
    InvalidCredentialsError,
    JsonDecodingError,
    RetriesExhaustedError,
    ServerDownOrUnreachableError,
    SessionCreationError,
)
from requests.adapters import HTTPAdapter

from drivers import redfish_parse as rp
from drivers.base import Secret, Target
from drivers.errors import (
    DeviceAuthError,
    DeviceError,
    DeviceProtocolError,
    DeviceReportedError,
    DeviceTimeout,
    DeviceUnreachable,
    ParseError,
)

log = logging.getLogger("rackval")
SERVICE_ROOT = "/redfish/v1/"
ResetType = Literal["On", "ForceOff", "GracefulShutdown", "ForceRestart"]


@dataclass(frozen=True)
class RedfishSettings:
    """How to log in to one Redfish service (built by the Redfish kinds from the rack file)."""

    username: str
    password: Secret | None
    auth: Literal["session", "basic"] = "session"
    ca_file: str | None = None  # absolute path of a PEM bundle to verify the service against
    pinned_sha256: str | None = None  # or: the certificate's SHA-256 fingerprint
    insecure: bool = False  # neither: verification off (asked for explicitly; warned about)
    timeout_s: float = 10.0
    retries: int = 1  # reads only


class _PinnedAdapter(HTTPAdapter):
    """Accept exactly the certificate with this SHA-256 fingerprint (urllib3's assert_fingerprint)."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint.replace(":", "").lower()
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self.fingerprint
        super().init_poolmanager(*args, **kwargs)


def _transport_error(device: str, operation: str, exc: BaseException) -> DeviceError:
    cause = exc.__cause__ or exc
    text = str(cause)
    if isinstance(cause, requests.exceptions.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return DeviceAuthError(device, operation, f"TLS certificate not trusted ({text[:160]})")
    if "fingerprint" in text.lower():
        return DeviceAuthError(device, operation, "TLS certificate does not match the pinned fingerprint")
    if isinstance(cause, requests.exceptions.Timeout):
        return DeviceTimeout(device, operation, "no answer within the timeout")
    return DeviceUnreachable(device, operation, text[:200] or type(cause).__name__)


def _error_message(body: str) -> str:
    """The ``error.message`` of a Redfish error body, when it has one."""
    try:
        data = rp.decode("", "", body)
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
    except DeviceError:
        pass
    return ""


class RedfishSession:
    """One logged-in session to one Redfish service; thread-safe (one request at a time)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.settings: RedfishSettings = target.settings
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def device(self) -> str:
        return self.target.name

    def _connect(self) -> Any:
        s = self.settings
        if not (s.insecure or s.ca_file or s.pinned_sha256):
            raise DeviceAuthError(self.device, "login", "no ca_file or pinned_sha256 to verify the BMC with")
        client = redfish.redfish_client(
            base_url=f"https://{self.target.host}:{self.target.port}",
            username=s.username,
            password=s.password.reveal() if s.password else None,
            cafile=None if s.insecure or s.pinned_sha256 else s.ca_file,
            timeout=s.timeout_s,
            max_retry=s.retries,
            check_connectivity=False,
            https_adapter=_PinnedAdapter(s.pinned_sha256) if s.pinned_sha256 else None,
        )
        operation = f"login ({s.auth}) {SERVICE_ROOT}SessionService/Sessions"
        try:
            client.login(auth=redfish.AuthMethod.SESSION if s.auth == "session" else redfish.AuthMethod.BASIC)
        except (InvalidCredentialsError, SessionCreationError) as exc:
            raise DeviceAuthError(self.device, operation, str(exc).splitlines()[0]) from None
        except RetriesExhaustedError as exc:
            raise _transport_error(self.device, operation, exc) from None
        except JsonDecodingError:  # the library reads the service root while logging in
            raise ParseError(self.device, f"GET {SERVICE_ROOT}", "malformed JSON") from None
        except ServerDownOrUnreachableError as exc:
            resp = getattr(exc, "response", None)
            status = getattr(resp, "status", None)
            detail = f"{status} {_error_message(resp.text)}".strip() if resp is not None else str(exc)[:200]
            raise DeviceReportedError(self.device, f"GET {SERVICE_ROOT}", detail) from None
        except ValueError as exc:
            raise DeviceProtocolError(self.device, operation, str(exc)[:200]) from None
        return client

    def client(self) -> Any:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _check(self, method: str, uri: str, resp: Any) -> None:
        operation = f"{method} {uri}"
        if resp.status in (401, 403):
            raise DeviceAuthError(
                self.device, operation, f"{resp.status} {_error_message(resp.text)}".strip()
            )
        if resp.status >= 400:
            raise DeviceReportedError(
                self.device, operation, f"{resp.status} {_error_message(resp.text)}".strip()
            )

    def get(self, uri: str) -> rp.Json:
        """GET a resource (retried on transport errors); its JSON object."""
        with self._lock:
            client = self.client()
            try:
                resp = client.get(uri)
            except RetriesExhaustedError as exc:
                raise _transport_error(self.device, f"GET {uri}", exc) from None
            self._check("GET", uri, resp)
            return rp.decode(self.device, f"GET {uri}", resp.text)

    def post(self, uri: str, body: dict[str, Any]) -> None:
        """POST (an action): never retried, a write must not happen twice."""
        with self._lock:
            client = self.client()
            try:
                resp = client.post(uri, body=body, max_retry=0)
            except RetriesExhaustedError as exc:
                raise _transport_error(self.device, f"POST {uri}", exc) from None
            self._check("POST", uri, resp)

    def members(self, uri: str | None) -> list[str]:
        if not uri:
            return []
        return rp.Reader(self.device, uri, self.get(uri)).members()

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                try:
                    self._client.logout()
                except Exception as exc:  # logging out must not hide a run's results
                    log.debug("%s: logout failed: %s", self.device, exc)
                self._client = None


class _RedfishDevice:
    """What the three drivers share: the session, the service root, identity."""

    def __init__(self, target: Target, loop: Any = None) -> None:
        self.target = target
        self.session = RedfishSession(target)
        self._root: rp.Json | None = None

    @property
    def name(self) -> str:
        return self.target.name

    def root(self) -> rp.Reader:
        if self._root is None:
            self._root = self.session.get(SERVICE_ROOT)
        return rp.Reader(self.name, SERVICE_ROOT, self._root)

    def _reader(self, uri: str) -> rp.Reader:
        return rp.Reader(self.name, uri, self.session.get(uri))

    def _first(self, collection: str) -> tuple[str, rp.Reader]:
        uri = self.root().link(collection)
        members = self.session.members(uri)
        if not members:
            raise DeviceProtocolError(self.name, f"GET {uri or SERVICE_ROOT + collection}", "no members")
        return members[0], self._reader(members[0])

    def manager_firmware(self) -> str | None:
        uri = self.root().link("Managers")
        members = self.session.members(uri)
        return self._reader(members[0]).str("FirmwareVersion") if members else None

    def _equipment(self, group: str, collection: str) -> tuple[str, rp.Reader]:
        """The first member of e.g. PowerEquipment/PowerShelves, ThermalEquipment/CDUs."""
        equipment_uri = self.root().link(group)
        if not equipment_uri:
            raise DeviceProtocolError(self.name, f"GET {SERVICE_ROOT}", f"the service root has no {group}")
        members = self.session.members(self._reader(equipment_uri).link(collection))
        if not members:
            raise DeviceProtocolError(self.name, f"GET {equipment_uri}", f"no {collection}")
        return members[0], self._reader(members[0])

    def _leaks(self, leak_uri: str | None) -> list[rp.LeakDetector]:
        if not leak_uri:
            return []
        detectors = self._reader(leak_uri).link("LeakDetectors")
        return [rp.leak_detector(self.name, m, self.session.get(m)) for m in self.session.members(detectors)]

    def close(self) -> None:
        self.session.close()


class RedfishBmc(_RedfishDevice):
    """A compute or switch tray's BMC."""

    kind = "bmc"

    def _system(self) -> tuple[str, rp.Reader]:
        return self._first("Systems")

    def identity(self) -> SimpleNamespace:
        _uri, system = self._system()
        return SimpleNamespace(
            model=system.str("Model"), serial=system.str("SerialNumber"), firmware=self.manager_firmware()
        )

    def power_state(self) -> str | None:
        return self._system()[1].str("PowerState")

    def set_power(self, state: str | None) -> None:
        """Put the system in ``state`` (On/Off) as a restore: Off is ForceOff."""
        if state in ("On", "Off"):
            self.reset("On" if state == "On" else "ForceOff")

    def reset(self, reset_type: ResetType) -> None:
        uri, system = self._system()
        actions = system.obj("Actions")
        action = actions.obj("#ComputerSystem.Reset") if actions else None
        target = action.str("target") if action else None
        if not target:
            raise DeviceProtocolError(self.name, f"GET {uri}", "no #ComputerSystem.Reset action")
        allowed = action.data.get("ResetType@Redfish.AllowableValues")
        if isinstance(allowed, list) and reset_type not in allowed:
            raise DeviceReportedError(
                self.name, f"POST {target}", f"ResetType {reset_type} not allowed: {allowed}"
            )
        self.session.post(target, {"ResetType": reset_type})

    def _processors(self, uri: str | None) -> list[rp.Processor]:
        members = self.session.members(uri)
        if not members:
            return []
        with ThreadPoolExecutor(max_workers=min(8, len(members)), thread_name_prefix="redfish") as pool:
            bodies = list(pool.map(self.session.get, members))
        return [rp.processor(self.name, m, b) for m, b in zip(members, bodies, strict=True)]

    def _nics(self, system: rp.Reader, chassis: rp.Reader | None) -> int:
        for owner, key in (
            (chassis, "NetworkAdapters"),
            (system, "NetworkInterfaces"),
            (system, "EthernetInterfaces"),
        ):
            uri = owner.link(key) if owner is not None else None
            if uri:
                return len(self.session.members(uri))
        return 0

    def _firmware(self) -> list[rp.FirmwareItem]:
        update = self.root().link("UpdateService")
        if not update:
            return []
        members = self.session.members(self._reader(update).link("FirmwareInventory"))
        return [rp.firmware_item(self.name, m, self.session.get(m)) for m in members]

    def snapshot(self) -> rp.TraySnapshot:
        """Everything the compute suite checks, read once."""
        _uri, system = self._system()
        errors: dict[str, str] = {}
        processors = self._processors(system.link("Processors"))
        cpus = [p for p in processors if p.type == "CPU"]
        gpus = [p for p in processors if p.type == "GPU"]
        summary = system.obj("ProcessorSummary")
        memory = system.obj("MemorySummary")
        chassis_uri = next(iter(self.session.members(self.root().link("Chassis"))), None)
        chassis = self._reader(chassis_uri) if chassis_uri else None
        firmware: dict[str, list[str]] = {"bmc": [], "bios": [], "gpu": [], "nic": []}
        for item in self._firmware():
            if item.component and item.version:
                firmware[item.component].append(item.version)
        if not firmware["bmc"] and (bmc := self.manager_firmware()):
            firmware["bmc"].append(bmc)
        if not firmware["bios"] and (bios := system.str("BiosVersion")):
            firmware["bios"].append(bios)
        if not firmware["gpu"]:
            firmware["gpu"] = [g.firmware for g in gpus if g.firmware]
        sensors: list[rp.SensorReading] = []
        leaks: list[rp.LeakDetector] = []
        if chassis is not None:
            try:
                sensors = [
                    rp.sensor(self.name, m, self.session.get(m))
                    for m in self.session.members(chassis.link("Sensors"))
                ]
            except DeviceError as exc:
                errors["sensors"] = str(exc)
            thermal = chassis.link("ThermalSubsystem")
            if thermal:
                try:
                    leaks = self._leaks(self._reader(thermal).link("LeakDetection"))
                except DeviceError as exc:
                    errors["leak detection"] = str(exc)
        return rp.TraySnapshot(
            model=system.str("Model"),
            serial=system.str("SerialNumber"),
            manufacturer=system.str("Manufacturer"),
            power_state=system.str("PowerState"),
            status=system.status(),
            cpus=len(cpus) if processors else int((summary.number("Count") if summary else None) or 0),
            cpu_model=cpus[0].model if cpus else (summary.str("Model") if summary else None),
            memory_gib=memory.number("TotalSystemMemoryGiB") if memory else None,
            gpus=gpus,
            nics=self._nics(system, chassis),
            firmware=firmware,
            sensors=sensors,
            leaks=leaks,
            errors=errors,
        )


class RedfishPowerShelf(_RedfishDevice):
    """A power shelf's controller: PowerEquipment/PowerShelves (PowerDistribution)."""

    kind = "power_shelf"

    def identity(self) -> SimpleNamespace:
        _uri, shelf = self._equipment("PowerEquipment", "PowerShelves")
        return SimpleNamespace(
            model=shelf.str("Model"), serial=shelf.str("SerialNumber"), firmware=shelf.str("FirmwareVersion")
        )

    def snapshot(self) -> rp.ShelfSnapshot:
        _uri, shelf = self._equipment("PowerEquipment", "PowerShelves")
        psus = []
        for m in self.session.members(shelf.link("PowerSupplies")):
            body = self.session.get(m)
            metrics_uri = rp.Reader(self.name, m, body).link("Metrics")
            psus.append(rp.psu(self.name, m, body, self.session.get(metrics_uri) if metrics_uri else None))
        metrics_uri = shelf.link("Metrics")
        power_w = self._reader(metrics_uri).reading("PowerWatts") if metrics_uri else None
        volts = [p.output_v for p in psus if p.output_v is not None and p.output_w]
        return rp.ShelfSnapshot(
            model=shelf.str("Model"),
            serial=shelf.str("SerialNumber"),
            status=shelf.status(),
            psus=psus,
            power_w=power_w,
            output_v=max(volts) if volts else None,
        )


class RedfishCdu(_RedfishDevice):
    """A coolant distribution unit: ThermalEquipment/CDUs (CoolingUnit)."""

    kind = "cdu"

    def identity(self) -> SimpleNamespace:
        _uri, cdu = self._equipment("ThermalEquipment", "CDUs")
        return SimpleNamespace(
            model=cdu.str("Model"), serial=cdu.str("SerialNumber"), firmware=cdu.str("FirmwareVersion")
        )

    def snapshot(self) -> rp.CduSnapshot:
        _uri, cdu = self._equipment("ThermalEquipment", "CDUs")
        loop: dict[str, float | None] = {}
        for m in self.session.members(cdu.link("SecondaryCoolantConnectors")):
            loop = rp.coolant_connector(self.name, m, self.session.get(m))
            break
        pumps = [self._reader(m).status() for m in self.session.members(cdu.link("Pumps"))]
        return rp.CduSnapshot(
            model=cdu.str("Model"),
            serial=cdu.str("SerialNumber"),
            status=cdu.status(),
            flow_lpm=loop.get("flow_lpm"),
            supply_temp_c=loop.get("supply_temp_c"),
            return_temp_c=loop.get("return_temp_c"),
            pressure_kpa=loop.get("pressure_kpa"),
            pumps=pumps,
            leaks=self._leaks(cdu.link("LeakDetection")),
        )
