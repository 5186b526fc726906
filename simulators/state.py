"""The simulated rack's physical state, shared by every device simulator.

Power flows from PDU outlets to loads (hosts, test points); a host with no
powered feed is down, and its links go down with it. Every simulator reads
this one model, so switching an outlet off is seen by the PDU (state, current),
by the switches (links down) and by instruments (voltage gone).

Thread-safe: SNMP agents run on an asyncio loop, SSH servers and SCPI servers
on their own threads.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable

from rackval.kinds import FEEDS_OUTLETS
from rackval.model import Rack

OutletKey = tuple[str, int]
STANDBY_FRACTION = 0.05  # a host whose system is off draws this share of its nominal current


class RackState:
    def __init__(self, rack: Rack) -> None:
        self.rack = rack
        self.lock = threading.RLock()
        self._on: dict[OutletKey, bool] = {}
        for name, pdu in rack.devices_providing(FEEDS_OUTLETS).items():
            for index in range(1, pdu.outlets + 1):
                self._on[(name, index)] = True
        self._feeds = {(f.device, f.index): f for f in rack.power}
        # faults that change physics, set by the PDU simulator from the scenario
        self.dead_outlets: set[OutletKey] = set()
        self.current_scale: dict[OutletKey, float] = {}
        self.test_point_offset_v: dict[str, float] = {}
        self.test_point_extra_resistance: dict[str, float] = {}
        self.test_point_load_a: dict[str, float] = {}
        self._listeners: list[Callable[[OutletKey, bool], None]] = []
        # hosts whose system a BMC has switched off (Redfish ComputerSystem.Reset): they
        # stay on their feeds but draw standby current only, and their links are down
        self._system_off: set[str] = set()

    # -- outlets ---------------------------------------------------------
    def outlet_on(self, pdu: str, index: int) -> bool:
        with self.lock:
            return self._on[(pdu, index)]

    def set_outlet(self, pdu: str, index: int, on: bool) -> None:
        with self.lock:
            self._on[(pdu, index)] = on
            listeners = list(self._listeners)
        for listener in listeners:
            listener((pdu, index), on)

    def on_outlet_change(self, listener: Callable[[OutletKey, bool], None]) -> None:
        with self.lock:
            self._listeners.append(listener)

    def outlets(self) -> dict[OutletKey, bool]:
        with self.lock:
            return dict(self._on)

    def nominal_current(self, pdu: str, index: int) -> float:
        """Current the outlet's load draws when powered (0 for an unused outlet).

        The middle of the power map's range, with a small, stable per-outlet
        offset so readings are not all identical.
        """
        feed = self._feeds.get((pdu, index))
        if feed is None:
            return 0.0
        lo, hi = feed.current_a.min, feed.current_a.max
        jitter = (zlib.crc32(f"{pdu}/{index}".encode()) % 21 - 10) / 100  # -0.10 .. +0.10
        return round((lo + hi) / 2 + jitter * (hi - lo) / 2, 3)

    def outlet_current(self, pdu: str, index: int) -> float:
        with self.lock:
            if not self._on[(pdu, index)] or (pdu, index) in self.dead_outlets:
                return 0.0
            scale = self.current_scale.get((pdu, index), 1.0)
            feed = self._feeds.get((pdu, index))
            if feed is not None and feed.load in self._system_off:
                scale *= STANDBY_FRACTION
        return round(self.nominal_current(pdu, index) * scale, 3)

    def outlet_phase(self, pdu: str, index: int) -> str:
        feed = self._feeds.get((pdu, index))
        if feed is not None:
            return feed.phase
        pdu_model = self.rack.devices[pdu]
        if pdu_model.phases == 1:
            return "L1"
        per_phase = max(1, pdu_model.outlets // 3)
        return ("L1", "L2", "L3")[min(2, (index - 1) // per_phase)]

    def phase_current(self, pdu: str, phase: str) -> float:
        outlets = self.rack.devices[pdu].outlets
        return round(
            sum(
                self.outlet_current(pdu, i)
                for i in range(1, outlets + 1)
                if self.outlet_phase(pdu, i) == phase
            ),
            3,
        )

    # -- loads -----------------------------------------------------------
    def host_powered(self, host: str) -> bool:
        """A host is up while at least one of its feeds delivers power."""
        feeds = [k for k, f in self._feeds.items() if f.load == host]
        if not feeds:
            return True  # not on the power map: assume powered elsewhere
        with self.lock:
            return any(self._on[k] and k not in self.dead_outlets for k in feeds)

    def system_on(self, host: str) -> bool:
        """Whether the host's system is on (as its BMC last set it); true unless switched off."""
        with self.lock:
            return host not in self._system_off

    def set_system(self, host: str, on: bool) -> None:
        with self.lock:
            if on:
                self._system_off.discard(host)
            else:
                self._system_off.add(host)

    def host_running(self, host: str) -> bool:
        """Powered *and* its system on: what a switch port or a coolant loop sees."""
        return self.host_powered(host) and self.system_on(host)

    def host_feeds(self, host: str) -> list[OutletKey]:
        return [k for k, f in self._feeds.items() if f.load == host]

    def test_point_powered(self, name: str) -> bool:
        tp = self.rack.test_points[name]
        if not tp.fed_by:
            return True
        with self.lock:
            for ref in tp.fed_by:
                dev, _, idx = ref.partition("/")
                key = (dev, int(idx))
                if self._on[key] and key not in self.dead_outlets:
                    return True
        return False

    def test_point_volts(self, name: str, load_current_a: float | None = None) -> float:
        """Voltage at a test point: nominal, minus I*R under load, 0 when unpowered."""
        tp = self.rack.test_points[name]
        if not self.test_point_powered(name):
            return 0.0
        with self.lock:
            current = self.test_point_load_a.get(name, 0.0) if load_current_a is None else load_current_a
            resistance = tp.output_resistance_ohm + self.test_point_extra_resistance.get(name, 0.0)
            offset = self.test_point_offset_v.get(name, 0.0)
        return max(0.0, tp.nominal_v + offset - current * resistance)

    def set_test_point_load(self, name: str, amps: float) -> None:
        with self.lock:
            self.test_point_load_a[name] = amps
