"""A simulated switch's state, computed from the rack file at read time.

Ports and their speeds come from the cabling plan, LLDP neighbours from the far end
of each planned link (servers speak LLDP unless the rack says ``lldp: false``),
counters and optics are plausible and stable per port. A link is up while its far
end is powered (read from the shared :class:`simulators.state.RackState` at every
read), so switching off a server's outlets takes its links down.

Faults (from scenario files) this model plays: ``swapped_cables``, ``missing_cable``,
``wrong_speed``, ``rising_crc``, ``low_rx_power``, ``firmware``, ``wrong_credentials``,
``no_answer`` (to commands containing ``command``), ``drop_session``.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rackval.errors import ConfigError
from rackval.model import Rack
from simulators.scenario import Fault, check_fault_params
from simulators.state import RackState

NO_LIGHT_DBM = -40.0  # what DOM reads with no light on a lane

FAULT_PARAMS: dict[str, dict[str, type]] = {
    "swapped_cables": {"ports": list},
    "missing_cable": {"port": str},
    "wrong_speed": {"port": str, "speed": str},
    "rising_crc": {"port": str, "per_second": object},
    "low_rx_power": {"port": str, "lane": int, "dbm": object},
    "firmware": {"firmware": str},
    "wrong_credentials": {},
    "no_answer": {"command": str},
    "drop_session": {"command": str},
}
REQUIRED = {k: set(v) for k, v in FAULT_PARAMS.items()}

# media type and lane count by speed (short-reach multimode optics)
OPTICS = {
    "1G": ("1000BASE-SX", 1),
    "10G": ("10GBASE-SR", 1),
    "25G": ("25GBASE-SR", 1),
    "40G": ("40GBASE-SR4", 4),
    "50G": ("50GBASE-SR", 1),
    "100G": ("100GBASE-SR4", 4),
    "200G": ("200GBASE-SR4", 4),
    "400G": ("400GBASE-SR8", 8),
    "800G": ("800GBASE-SR8", 8),
}


@dataclass(frozen=True)
class OpticView:
    speed: str  # the module's rate, e.g. "100G" (renderers pick vendor names from it)
    media_type: str
    temperature_c: float
    voltage_v: float
    tx_power_dbm: tuple[float, ...]  # per lane
    rx_power_dbm: tuple[float, ...]
    tx_bias_ma: tuple[float, ...]


@dataclass(frozen=True)
class CounterView:
    rx_ok: int
    tx_ok: int
    fcs_errors: int
    symbol_errors: int
    alignment_errors: int
    runt_frames: int
    giant_frames: int
    in_discards: int
    out_discards: int
    out_errors: int

    @property
    def in_errors(self) -> int:
        return (
            self.fcs_errors
            + self.symbol_errors
            + self.alignment_errors
            + self.runt_frames
            + self.giant_frames
        )


@dataclass(frozen=True)
class PortView:
    name: str
    index: int  # 1-based front-panel port number
    speed: str  # "100G"
    admin_up: bool
    oper_up: bool
    present: bool  # a transceiver is plugged in
    neighbor: tuple[str, str] | None  # (system name, port id) learnt by LLDP
    counters: CounterView
    optic: OpticView | None
    mac: str


@dataclass(frozen=True)
class IdentityView:
    hostname: str
    model: str
    serial: str
    firmware: str
    mac: str


def _h(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def port_names(naming: str, count: int) -> list[str]:
    """EOS numbers front-panel ports Ethernet1..N; SONiC by first lane, Ethernet0, 4, 8..."""
    if naming == "eos":
        return [f"Ethernet{i}" for i in range(1, count + 1)]
    if naming == "sonic":
        return [f"Ethernet{4 * i}" for i in range(count)]
    raise ValueError(f"unknown port naming {naming!r}")


class SwitchModel:
    def __init__(
        self,
        rack: Rack,
        name: str,
        state: RackState,
        faults: list[Fault],
        *,
        naming: str,
        defaults: dict[str, str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rack = rack
        self.name = name
        self.state = state
        self.device = rack.devices[name]
        self.clock = clock
        self.started = clock()
        self.names = port_names(naming, self.device.ports)
        self._plan: dict[str, tuple[str, str, str]] = {}  # port -> (far device, far port, speed)
        for link in rack.cabling:
            for (dev, port), (far_dev, far_port) in (link.ends, link.ends[::-1]):
                if dev == name:
                    self._plan[port] = (far_dev, far_port, link.speed)
        unknown = sorted(set(self._plan) - set(self.names))
        if unknown:
            raise ConfigError(
                f"{name}: cabling plan uses port(s) {', '.join(unknown)} that a "
                f"{self.device.ports}-port {naming} switch does not have (ports: {self.names[0]}..)"
            )
        expected = self.device.expected
        self.identity = IdentityView(
            hostname=name,
            model=expected.model or defaults["model"],
            serial=expected.serial or f"SIM{_h(name) % 10**8:08d}",
            firmware=expected.firmware or defaults["firmware"],
            mac=self._mac(0),
        )
        self.password_suffix = ""
        self.hang_commands: list[str] = []
        self.drop_commands: list[str] = []
        self.swaps: dict[str, str] = {}
        self.missing: set[str] = set()
        self.speed_override: dict[str, str] = {}
        self.crc_rate: dict[str, float] = {}
        self.low_rx: dict[tuple[str, int], float] = {}
        for fault in faults:
            self._apply(fault)

    # -- faults ------------------------------------------------------------------
    def _port_param(self, fault: Fault, port: Any) -> str:
        if port not in self.names:
            raise ConfigError(f"scenario: fault {fault.kind} on {self.name}: no port {port!r}")
        return port

    def _apply(self, fault: Fault) -> None:
        if fault.kind not in FAULT_PARAMS:
            raise ConfigError(
                f"scenario: {self.name} is a switch; it cannot play fault {fault.kind!r} "
                f"(known: {', '.join(sorted(FAULT_PARAMS))})"
            )
        params = check_fault_params(fault, FAULT_PARAMS[fault.kind])
        missing = REQUIRED[fault.kind] - set(params)
        if missing:
            raise ConfigError(f"scenario: fault {fault.kind} on {self.name}: missing {sorted(missing)}")
        for key in ("per_second", "dbm"):
            if key in params and (isinstance(params[key], bool) or not isinstance(params[key], int | float)):
                raise ConfigError(f"scenario: fault {fault.kind} on {self.name}: {key} must be a number")
        kind = fault.kind
        if kind == "swapped_cables":
            ports = params["ports"]
            if len(ports) != 2 or ports[0] == ports[1]:
                raise ConfigError(f"scenario: fault swapped_cables on {self.name}: ports must be two ports")
            a, b = (self._port_param(fault, p) for p in ports)
            self.swaps[a], self.swaps[b] = b, a
        elif kind == "missing_cable":
            self.missing.add(self._port_param(fault, params["port"]))
        elif kind == "wrong_speed":
            if params["speed"] not in OPTICS:
                raise ConfigError(
                    f"scenario: fault wrong_speed on {self.name}: unknown speed {params['speed']!r}"
                )
            self.speed_override[self._port_param(fault, params["port"])] = params["speed"]
        elif kind == "rising_crc":
            self.crc_rate[self._port_param(fault, params["port"])] = float(params["per_second"])
        elif kind == "low_rx_power":
            self.low_rx[(self._port_param(fault, params["port"]), params["lane"])] = float(params["dbm"])
        elif kind == "firmware":
            self.identity = IdentityView(**{**self.identity.__dict__, "firmware": params["firmware"]})
        elif kind == "wrong_credentials":
            self.password_suffix = "-changed-on-device"
        elif kind == "no_answer":
            self.hang_commands.append(params["command"])
        elif kind == "drop_session":
            self.drop_commands.append(params["command"])

    def hangs(self, command: str) -> bool:
        return any(s in command for s in self.hang_commands)

    def drops(self, command: str) -> bool:
        return any(s in command for s in self.drop_commands)

    # -- state -------------------------------------------------------------------
    def _mac(self, index: int) -> str:
        h = _h(self.name)
        octets = [0x00, 0x1C, 0x73, (h >> 16) & 0xFF, (h >> 8) & 0xFF, (h + index) & 0xFF]
        return ":".join(f"{o:02x}" for o in octets)

    def _far_end_up(self, device: str) -> bool:
        if device in self.rack.hosts:
            return self.state.host_running(device)
        return True  # another switch: powered outside the power map

    def _speaks_lldp(self, device: str) -> bool:
        host = self.rack.hosts.get(device)
        return host.lldp if host is not None else True

    def port(self, name: str, now: float | None = None) -> PortView:
        now = self.clock() if now is None else now
        index = self.names.index(name) + 1
        planned = self._plan.get(name)
        cable = None
        if planned is not None and name not in self.missing:
            source = self.swaps.get(name, name)  # the cable really plugged in here
            cable = self._plan.get(source, planned)
        speed = self.speed_override.get(name) or (planned[2] if planned else "100G")
        present = planned is not None
        oper_up = cable is not None and self._far_end_up(cable[0])
        neighbor = (cable[0], cable[1]) if oper_up and cable and self._speaks_lldp(cable[0]) else None
        elapsed = max(0.0, now - self.started)
        h = _h(self.name, name)
        traffic = int(elapsed * 1000) if oper_up else 0
        counters = CounterView(
            rx_ok=100_000 + h % 50_000 + traffic,
            tx_ok=120_000 + h % 40_000 + traffic,
            fcs_errors=h % 4 + int(self.crc_rate.get(name, 0.0) * elapsed),  # old, stable errors
            symbol_errors=(h >> 4) % 3,
            alignment_errors=0,
            runt_frames=0,
            giant_frames=0,
            in_discards=(h >> 8) % 20,
            out_discards=(h >> 12) % 10,
            out_errors=0,
        )
        optic = None
        if present:
            media, lanes = OPTICS[planned[2]]
            tx = tuple(round(-1.0 + (_h(name, "tx", i) % 150) / 100, 2) for i in range(lanes))
            rx = tuple(
                self.low_rx.get((name, i + 1), round(-2.0 + (_h(name, "rx", i) % 150) / 100, 2))
                if oper_up
                else NO_LIGHT_DBM
                for i in range(lanes)
            )
            optic = OpticView(
                speed=planned[2],
                media_type=media,
                temperature_c=round(28.0 + (h % 100) / 10, 2),
                voltage_v=round(3.25 + (h % 8) / 100, 2),
                tx_power_dbm=tx,
                rx_power_dbm=rx,
                tx_bias_ma=tuple(round(6.0 + (_h(name, "bias", i) % 100) / 100, 2) for i in range(lanes)),
            )
        return PortView(
            name=name,
            index=index,
            speed=speed,
            admin_up=True,
            oper_up=oper_up,
            present=present,
            neighbor=neighbor,
            counters=counters,
            optic=optic,
            mac=self._mac(index),
        )

    def ports(self) -> list[PortView]:
        now = self.clock()
        return [self.port(name, now) for name in self.names]

    def uptime_s(self) -> float:
        return self.clock() - self.started

    def summary(self) -> dict[str, Any]:
        """The simulator's own view (for the control port's ``state``)."""
        return {
            "identity": self.identity.__dict__,
            "ports": {
                p.name: {"oper_up": p.oper_up, "speed": p.speed, "neighbor": p.neighbor}
                for p in self.ports()
                if p.present
            },
        }
