"""Simulator of an APC Switched Rack PDU 2G (AP86xx, PowerNet-MIB rPDU2) over SNMP.

Faithful to the PowerNet-MIB, not to our driver. It serves what a real unit
serves for this subset:

* MIB-II ``system`` (sysDescr in the Network Management Card's format,
  sysObjectID = masterSwitchrPDU2 .1.3.6.1.4.1.318.1.3.4.6, what AP8xxx units
  report; .4.5 is masterSwitchrPDU, the first-generation AP79xx; sysUpTime...);
* legacy ``sPDU`` masterswitch (.1.3.6.1.4.1.318.1.1.4): sPDUIdent,
  sPDUMasterControl (sPDUMasterControlSwitch, sPDUMasterState/Pending strings),
  sPDUMasterConfig, sPDUOutletControlTable (sPDUOutletCtl reads outletOn(1)/
  outletOff(2), writes outletOn(1), outletOff(2), outletReboot(3),
  outletOnWithDelay(5), outletOffWithDelay(6), outletRebootWithDelay(7);
  outletUnknown(4) is refused), sPDUOutletConfigTable (names, delays);
* legacy ``rPDU`` (.1.3.6.1.4.1.318.1.1.12): rPDUIdent, rPDULoadDevice,
  rPDULoadStatusTable (tenths of amps per phase), rPDUOutletControlTable and
  rPDUOutletStatusTable (note: legacy status is outletStatusOn(1)/outletStatusOff(2));
* ``rPDU2`` (.1.3.6.1.4.1.318.1.1.26): ident, device config/properties/status/
  control, phase config/properties/status, outlet switched config/properties/
  status/control, outlet metered config/properties/status (the last table).

Encodings follow the MIB: rPDU2OutletSwitchedStatusState off(1)/on(2);
rPDU2OutletSwitchedControlCommand immediateOn(1), immediateOff(2),
immediateReboot(3), outletUnknown(4), delayedOn(5), delayedOff(6),
delayedReboot(7), cancelPendingCommand(8); currents in tenths of amps; phase
voltage in volts; phase power in hundredths of kW; outlet power in watts.

A SET through any of the three control tables switches the outlet in the shared
:class:`~simulators.state.RackState`. ``immediateReboot`` turns the outlet off
and back on after rPDU2OutletSwitchedConfigRebootDuration seconds (default 1 s
here; configurable on the real unit too).
"""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from pyasn1.type.univ import ObjectIdentifier, OctetString
from pysnmp.proto.rfc1902 import Gauge32, Integer32, TimeTicks

from simulators.base import SimContext, SimHandle
from simulators.snmp_agent import MibTree, SetError, WrongValue
from simulators.snmp_pdu import start_pdu
from simulators.state import RackState

SYSTEM = "1.3.6.1.2.1.1"
SPDU = "1.3.6.1.4.1.318.1.1.4"  # masterswitch: the legacy sPDU tables every APC PDU still serves
RPDU = "1.3.6.1.4.1.318.1.1.12"
RPDU2 = "1.3.6.1.4.1.318.1.1.26"
# PowerNet-MIB products.system.masterSwitch: masterSwitchMSP(4), masterSwitchrPDU(5),
# masterSwitchrPDU2(6). NUT's apc-pdu-mib labels these one off; fence_apc_snmp keys
# ".4.6" to "Master Switch with firmware v6.x" (sPDU status, rPDU control).
SYS_OBJECT_ID = "1.3.6.1.4.1.318.1.3.4.6"

NOMINAL_VOLTS = 230
POWER_FACTOR = 0.95
DEFAULT_REBOOT_DURATION_S = 1
DEFAULT_MODEL = "AP8653"
DEFAULT_FIRMWARE = "v6.9.6"
PHASE_NUMBER = {"L1": 1, "L2": 2, "L3": 3}

# rPDU2OutletSwitchedControlCommand / rPDUOutletControlOutletCommand values
RPDU2_COMMANDS = {
    1: "on",
    2: "off",
    3: "reboot",
    5: "delayedOn",
    6: "delayedOff",
    7: "delayedReboot",
    8: "cancel",
}
# sPDUOutletCtl (write): outletUnknown(4) is a read-only value ("badValue" on a SET)
SPDU_COMMANDS = {
    1: "on",
    2: "off",
    3: "reboot",
    5: "delayedOn",
    6: "delayedOff",
    7: "delayedReboot",
}
# sPDUMasterControlSwitch: turnAllOnNow(1), turnAllOnSequence(2), turnAllOffNow(3),
# rebootAllNow(4), rebootAllSequence(5), noCommand(6), turnAllOffSequence(7)
SPDU_MASTER_COMMANDS = {
    1: "on",
    2: "delayedOn",
    3: "off",
    4: "reboot",
    5: "delayedReboot",
    6: None,
    7: "delayedOff",
}
RPDU_COMMANDS = {
    1: "on",
    2: "off",
    3: "reboot",
    4: "delayedOn",
    5: "delayedOff",
    6: "delayedReboot",
    7: "cancel",
}


class _Outlets:
    """Switching logic shared by the rPDU2 and legacy control tables."""

    def __init__(self, name: str, state: RackState, count: int, loop: asyncio.AbstractEventLoop):
        self.name = name
        self.state = state
        self.count = count
        self.loop = loop
        self.lock = threading.Lock()
        self.names: dict[int, str] = {}
        self.power_on_time = dict.fromkeys(range(1, count + 1), 0)
        self.power_off_time = dict.fromkeys(range(1, count + 1), 0)
        self.reboot_duration = dict.fromkeys(range(1, count + 1), DEFAULT_REBOOT_DURATION_S)
        self._timers: dict[int, list[asyncio.TimerHandle]] = {}

    def is_on(self, index: int) -> bool:
        return self.state.outlet_on(self.name, index)

    def pending(self, index: int) -> bool:
        with self.lock:
            return any(not t.cancelled() and t.when() > self.loop.time() for t in self._timers.get(index, []))

    def _later(self, index: int, delay: float, on: bool) -> None:
        handle = self.loop.call_later(max(0.0, delay), self.state.set_outlet, self.name, index, on)
        with self.lock:
            self._timers.setdefault(index, []).append(handle)

    def cancel(self, index: int) -> None:
        with self.lock:
            for handle in self._timers.pop(index, []):
                handle.cancel()

    def command(self, index: int, action: str) -> None:
        """Apply a decoded control command (runs on the agent's loop)."""
        if action == "cancel":
            self.cancel(index)
            return
        self.cancel(index)
        if action == "on":
            self.state.set_outlet(self.name, index, True)
        elif action == "off":
            self.state.set_outlet(self.name, index, False)
        elif action == "reboot":
            self.state.set_outlet(self.name, index, False)
            self._later(index, self.reboot_duration[index], True)
        elif action == "delayedOn":
            self._later(index, self.power_on_time[index], True)
        elif action == "delayedOff":
            self._later(index, self.power_off_time[index], False)
        elif action == "delayedReboot":
            off = self.power_off_time[index]
            self._later(index, off, False)
            self._later(index, off + self.reboot_duration[index], True)

    def stop(self) -> None:
        for index in list(self._timers):
            self.cancel(index)


def _int_setter(store: dict[int, int], low: int, high: int) -> Callable[[int, Any], None]:
    def setter(index: int, value: Any) -> None:
        number = int(value)
        if not low <= number <= high:
            raise WrongValue(f"{number} not in {low}..{high}")
        store[index] = number

    return setter


class ApcPduModel:
    """The MIB of one simulated PDU, computed from the shared rack state."""

    def __init__(self, ctx: SimContext, name: str, loop: asyncio.AbstractEventLoop) -> None:
        device = ctx.rack.devices[name]
        self.name = name
        self.device = device
        self.state = ctx.state
        self.outlet_count = device.outlets
        self.phase_count = device.phases
        self.model = device.expected.model or DEFAULT_MODEL
        self.serial = device.expected.serial or f"5A{zlib.crc32(name.encode()) % 10**10:010d}"
        self.firmware = device.expected.firmware or DEFAULT_FIRMWARE
        self.garbled = False
        self.started = time.monotonic()
        self.outlets = _Outlets(name, ctx.state, device.outlets, loop)
        feeds = {f.index: f for f in ctx.rack.feeds_of(name)}
        for index in range(1, device.outlets + 1):
            feed = feeds.get(index)
            self.outlets.names[index] = feed.outlet_name if feed else f"Outlet {index}"
        self.sys = {
            "contact": "rack-integration@example.com",
            "name": name,
            "location": f"{ctx.rack.rack.serial}",
        }
        self.device_name = name
        self.master_config = {"power_on": 0, "reboot": DEFAULT_REBOOT_DURATION_S}
        self.tree = MibTree()
        self._build()

    def stop(self) -> None:
        self.outlets.stop()

    # -- live values -----------------------------------------------------------
    def uptime(self) -> int:
        return int((time.monotonic() - self.started) * 100)

    def current_tenths(self, index: int) -> int:
        return round(self.state.outlet_current(self.name, index) * 10)

    def phase_of(self, index: int) -> int:
        return PHASE_NUMBER[self.state.outlet_phase(self.name, index)]

    def phase_current(self, phase: int) -> float:
        label = f"L{phase}"
        return self.state.phase_current(self.name, label)

    def outlet_watts(self, index: int) -> int:
        return round(self.state.outlet_current(self.name, index) * NOMINAL_VOLTS * POWER_FACTOR)

    def phase_hundredths_kw(self, phase: int) -> int:
        return round(self.phase_current(phase) * NOMINAL_VOLTS * POWER_FACTOR / 10)

    def total_hundredths_kw(self) -> int:
        return sum(self.phase_hundredths_kw(p) for p in range(1, self.phase_count + 1))

    def sys_descr(self) -> str:
        fw = self.firmware
        plain = fw.lstrip("v").replace(".", "")
        return (
            f"APC Web/SNMP Management Card (MB:v4.1.0 PF:{fw} PN:apc_hw05_aos_{plain}.bin "
            f"AF1:{fw} AN1:apc_hw05_rpdu2g_{plain}.bin MN:{self.model} HR:02 "
            f"SN: {self.serial} MD:04/11/2023) (Embedded PowerNet SNMP Agent SW v2.2 compatible)"
        )

    @staticmethod
    def load_state(amps: float, low: float, near: float, over: float) -> int:
        if amps >= over:
            return 4
        if amps >= near:
            return 3
        if amps < low:
            return 1
        return 2

    # -- MIB -------------------------------------------------------------------
    def _build(self) -> None:
        t = self.tree
        outlets = range(1, self.outlet_count + 1)
        phases = range(1, self.phase_count + 1)
        one = [1]
        o = self.outlets
        rated = int(self.device.rated_current_a)

        def text_setter(store: dict, key: Any, limit: int = 32):
            def setter(value: Any) -> None:
                raw = bytes(value)
                if len(raw) > limit:
                    err = SetError("too long")
                    err.status = "wrongLength"
                    raise err
                store[key] = raw.decode("utf-8", "replace")

            return setter

        # MIB-II system
        t.add_scalar(f"{SYSTEM}.1", OctetString, self.sys_descr)
        t.add_scalar(f"{SYSTEM}.2", ObjectIdentifier, lambda: ObjectIdentifier(SYS_OBJECT_ID))
        t.add_scalar(f"{SYSTEM}.3", TimeTicks, self.uptime)
        t.add_scalar(
            f"{SYSTEM}.4", OctetString, lambda: self.sys["contact"], text_setter(self.sys, "contact", 255)
        )
        t.add_scalar(f"{SYSTEM}.5", OctetString, lambda: self.sys["name"], text_setter(self.sys, "name", 255))
        t.add_scalar(
            f"{SYSTEM}.6", OctetString, lambda: self.sys["location"], text_setter(self.sys, "location", 255)
        )
        t.add_scalar(f"{SYSTEM}.7", Integer32, lambda: 72)

        self._build_masterswitch(text_setter)

        # legacy rPDU: ident
        ident = f"{RPDU}.1"
        t.add_scalar(f"{ident}.1", OctetString, lambda: self.device_name)
        t.add_scalar(f"{ident}.2", OctetString, lambda: "02")
        t.add_scalar(f"{ident}.3", OctetString, lambda: self.firmware)
        t.add_scalar(f"{ident}.4", OctetString, lambda: "04/11/2023")
        t.add_scalar(f"{ident}.5", OctetString, lambda: self.model)
        t.add_scalar(f"{ident}.6", OctetString, lambda: self.serial)
        t.add_scalar(f"{ident}.7", Integer32, lambda: rated)
        t.add_scalar(f"{ident}.8", Integer32, lambda: self.outlet_count)
        t.add_scalar(f"{ident}.9", Integer32, lambda: self.phase_count)
        t.add_scalar(f"{ident}.10", Integer32, lambda: 0)  # rPDUIdentDeviceNumBreakers
        t.add_scalar(f"{ident}.11", Integer32, lambda: 0)  # rPDUIdentDeviceBreakerRating
        t.add_scalar(f"{ident}.12", Integer32, lambda: 2)  # orientation: orientVertical(2)
        t.add_scalar(f"{ident}.13", Integer32, lambda: 1)  # outlet layout: seqPhaseToNeutral(1)
        t.add_scalar(f"{ident}.14", Integer32, lambda: 1)  # display: displayNormal(1)
        t.add_scalar(  # rPDUIdentDeviceLinetoLineVoltage (volts)
            f"{ident}.15", Integer32, lambda: 400 if self.phase_count == 3 else NOMINAL_VOLTS
        )
        t.add_scalar(f"{ident}.16", Integer32, lambda: self.total_hundredths_kw() * 10)  # watts
        t.add_scalar(f"{ident}.17", Integer32, lambda: round(POWER_FACTOR * 1000))  # thousandths
        t.add_scalar(  # rPDUIdentDevicePowerVA
            f"{ident}.18",
            Integer32,
            lambda: round(sum(self.phase_current(p) for p in phases) * NOMINAL_VOLTS),
        )
        # legacy rPDU: rPDULoadDevice (scalars; no banks on this model)
        ldev = f"{RPDU}.2.1"
        t.add_scalar(f"{ldev}.1", Integer32, lambda: rated)  # rPDULoadDevMaxPhaseLoad
        t.add_scalar(f"{ldev}.2", Integer32, lambda: self.phase_count)  # rPDULoadDevNumPhases
        t.add_scalar(f"{ldev}.3", Integer32, lambda: 0)  # rPDULoadDevMaxBankLoad
        t.add_scalar(f"{ldev}.4", Integer32, lambda: 0)  # rPDULoadDevNumBanks
        t.add_scalar(f"{ldev}.5", Integer32, lambda: 0)  # rPDULoadDevBankTableSize
        t.add_scalar(f"{ldev}.7", Integer32, lambda: 0)  # rPDULoadDevMaxOutletTableSize
        # legacy rPDU: rPDULoadStatusTable (phase rows; load in tenths of amps)
        load = f"{RPDU}.2.3.1.1"
        t.add_column(f"{load}.1", phases, Integer32, lambda p: p)
        t.add_column(f"{load}.2", phases, Gauge32, lambda p: round(self.phase_current(p) * 10))
        t.add_column(
            f"{load}.3",
            phases,
            Integer32,
            lambda p: {4: 4, 3: 3, 1: 2, 2: 1}[
                self.load_state(self.phase_current(p), 0.0, rated * 0.8, rated)
            ],
        )
        t.add_column(f"{load}.4", phases, Integer32, lambda p: p)
        t.add_column(f"{load}.5", phases, Integer32, lambda p: 0)
        # legacy rPDU: rPDUOutletControlTable
        ctl = f"{RPDU}.3.3.1.1"
        t.add_column(f"{ctl}.1", outlets, Integer32, lambda i: i)
        t.add_column(f"{ctl}.2", outlets, OctetString, lambda i: o.names[i])
        t.add_column(f"{ctl}.3", outlets, Integer32, self.phase_of)
        t.add_column(f"{ctl}.4", outlets, Integer32, lambda i: 1 if o.is_on(i) else 2, self._legacy_command)
        t.add_column(f"{ctl}.5", outlets, Integer32, lambda i: 0)
        # legacy rPDU: rPDUOutletStatusTable (outletStatusOn(1) / outletStatusOff(2))
        st = f"{RPDU}.3.5.1.1"
        t.add_column(f"{st}.1", outlets, Integer32, lambda i: i)
        t.add_column(f"{st}.2", outlets, OctetString, lambda i: o.names[i])
        t.add_column(f"{st}.3", outlets, Integer32, self.phase_of)
        t.add_column(f"{st}.4", outlets, Integer32, lambda i: 1 if o.is_on(i) else 2)
        t.add_column(f"{st}.5", outlets, Integer32, lambda i: 1 if o.pending(i) else 2)
        t.add_column(f"{st}.6", outlets, Integer32, lambda i: 0)
        t.add_column(f"{st}.7", outlets, Gauge32, self.current_tenths)

        # rPDU2 ident
        t.add_scalar(f"{RPDU2}.1", Integer32, lambda: 1)
        idt = f"{RPDU2}.2.1"
        ident_cols: dict[int, tuple[type, Callable[[int], Any]]] = {
            1: (Integer32, lambda i: i),
            2: (Integer32, lambda i: 1),
            3: (OctetString, lambda i: self.device_name),
            4: (OctetString, lambda i: self.sys["location"]),
            5: (OctetString, lambda i: "02"),
            6: (OctetString, lambda i: self.firmware),
            7: (OctetString, lambda i: "04/11/2023"),
            8: (OctetString, lambda i: self.model),
            9: (OctetString, lambda i: self.serial),
            10: (OctetString, lambda i: self.sys["contact"]),
            11: (OctetString, lambda i: "v1.1.3"),
            12: (OctetString, lambda i: "Rack PDU 2G, Metered by Outlet with Switching"),
            13: (OctetString, lambda i: "ZA" + self.serial[2:]),
        }
        for col, (syntax, getter) in ident_cols.items():
            t.add_column(f"{idt}.{col}", one, syntax, getter)
        # rPDU2 device
        t.add_scalar(f"{RPDU2}.3", Integer32, lambda: 1)
        dev = f"{RPDU2}.4"
        names = {"name": self.device_name}

        def set_device_name(_i: int, value: Any) -> None:
            text_setter(names, "name")(value)
            self.device_name = names["name"]

        t.add_column(f"{dev}.1.1.1", one, Integer32, lambda i: i)
        t.add_column(f"{dev}.1.1.2", one, Integer32, lambda i: 1)
        t.add_column(f"{dev}.1.1.3", one, OctetString, lambda i: self.device_name, set_device_name)
        t.add_column(
            f"{dev}.1.1.4",
            one,
            OctetString,
            lambda i: self.sys["location"],
            lambda i, v: text_setter(self.sys, "location")(v),
        )
        t.add_column(f"{dev}.1.1.5", one, Integer32, lambda i: 1)
        t.add_column(f"{dev}.1.1.6", one, Integer32, lambda i: 0)
        t.add_column(
            f"{dev}.1.1.14",
            one,
            OctetString,
            lambda i: self.sys["contact"],
            lambda i, v: text_setter(self.sys, "contact")(v),
        )
        props = {
            1: lambda i: i,
            2: lambda i: 1,
            3: lambda i: self.device_name,
            4: lambda i: self.outlet_count,
            5: lambda i: self.outlet_count,
            6: lambda i: self.outlet_count,
            7: lambda i: self.phase_count,
            8: lambda i: 0,
            9: lambda i: rated,
            10: lambda i: 2,
            11: lambda i: 5,
            12: lambda i: rated,
        }
        for col, getter in props.items():
            t.add_column(f"{dev}.2.1.{col}", one, OctetString if col == 3 else Integer32, getter)
        total_amps = lambda: sum(self.phase_current(p) for p in phases)  # noqa: E731
        status = {
            1: (Integer32, lambda i: i),
            2: (Integer32, lambda i: 1),
            3: (OctetString, lambda i: self.device_name),
            4: (
                Integer32,
                lambda i: self.load_state(
                    total_amps(), 0.0, rated * self.phase_count * 0.8, rated * self.phase_count
                ),
            ),
            5: (Integer32, lambda i: self.total_hundredths_kw()),
            6: (Integer32, lambda i: self.total_hundredths_kw()),
            7: (OctetString, lambda i: "04/11/2023 08:00:00"),
            8: (OctetString, lambda i: "04/11/2023 08:00:00"),
            9: (Integer32, lambda i: self.total_hundredths_kw() * self.uptime() // 3_600_000),
            10: (OctetString, lambda i: "04/11/2023 08:00:00"),
            11: (Integer32, lambda i: 1 if any(o.pending(x) for x in outlets) else 2),
            12: (Integer32, lambda i: 1),
            13: (Integer32, lambda i: 1),
            14: (Integer32, lambda i: 1),
            15: (OctetString, lambda i: "04/11/2023 08:00:00"),
            16: (Integer32, lambda i: round(total_amps() * NOMINAL_VOLTS / 10)),
            17: (Integer32, lambda i: round(POWER_FACTOR * 100)),
            18: (Integer32, lambda i: 1),
        }
        for col, (syntax, getter) in status.items():
            t.add_column(f"{dev}.3.1.{col}", one, syntax, getter)
        t.add_column(f"{dev}.4.1.1", one, Integer32, lambda i: i)
        t.add_column(f"{dev}.4.1.2", one, Integer32, lambda i: 1)
        t.add_column(f"{dev}.4.1.3", one, OctetString, lambda i: self.device_name)
        t.add_column(f"{dev}.4.1.4", one, Integer32, lambda i: 6, self._device_command)

        # rPDU2 phase
        t.add_scalar(f"{RPDU2}.5", Integer32, lambda: self.phase_count)
        ph = f"{RPDU2}.6"
        near, over = int(rated * 0.8), rated
        for col, getter in {
            1: lambda p: p,
            2: lambda p: 1,
            3: lambda p: p,
            4: lambda p: 1,
            5: lambda p: 0,
            6: lambda p: near,
            7: lambda p: over,
            8: lambda p: 1,
        }.items():
            t.add_column(f"{ph}.1.1.{col}", phases, Integer32, getter)
        for col, getter in {1: lambda p: p, 2: lambda p: 1, 3: lambda p: p}.items():
            t.add_column(f"{ph}.2.1.{col}", phases, Integer32, getter)
        phase_status = {
            1: (Integer32, lambda p: p),
            2: (Integer32, lambda p: 1),
            3: (Integer32, lambda p: p),
            4: (Integer32, lambda p: self.load_state(self.phase_current(p), 0.0, near, over)),
            5: (Integer32, lambda p: round(self.phase_current(p) * 10)),
            6: (Integer32, lambda p: NOMINAL_VOLTS),
            7: (Integer32, self.phase_hundredths_kw),
            8: (Integer32, lambda p: round(self.phase_current(p) * NOMINAL_VOLTS / 10)),
            9: (Integer32, lambda p: round(POWER_FACTOR * 100)),
            10: (Integer32, lambda p: round(self.phase_current(p) * 10)),
            11: (OctetString, lambda p: "04/11/2023 08:00:00"),
            12: (OctetString, lambda p: "04/11/2023 08:00:00"),
        }
        for col, (syntax, getter) in phase_status.items():
            t.add_column(f"{ph}.3.1.{col}", phases, syntax, getter)
        t.add_scalar(f"{RPDU2}.7", Integer32, lambda: 0)  # no metered banks on this model

        # rPDU2 outlets: switched
        t.add_scalar(f"{RPDU2}.9.1", Integer32, lambda: self.outlet_count)
        sw = f"{RPDU2}.9.2"

        def set_name(index: int, value: Any) -> None:
            text_setter(o.names, index)(value)

        cfg = {
            1: (Integer32, lambda i: i, None),
            2: (Integer32, lambda i: 1, None),
            3: (OctetString, lambda i: o.names[i], set_name),
            4: (Integer32, lambda i: i, None),
            5: (Integer32, lambda i: o.power_on_time[i], _int_setter(o.power_on_time, -1, 7200)),
            6: (Integer32, lambda i: o.power_off_time[i], _int_setter(o.power_off_time, -1, 7200)),
            7: (Integer32, lambda i: o.reboot_duration[i], _int_setter(o.reboot_duration, 0, 300)),
            8: (OctetString, lambda i: "", None),
        }
        for col, (syntax, getter, setter) in cfg.items():
            t.add_column(f"{sw}.1.1.{col}", outlets, syntax, getter, setter)
        for col, (syntax, getter) in {
            1: (Integer32, lambda i: i),
            2: (Integer32, lambda i: 1),
            3: (OctetString, lambda i: o.names[i]),
            4: (Integer32, lambda i: i),
            5: (Integer32, self.phase_of),
            6: (Integer32, lambda i: 0),
        }.items():
            t.add_column(f"{sw}.2.1.{col}", outlets, syntax, getter)
        for col, (syntax, getter) in {
            1: (Integer32, lambda i: i),
            2: (Integer32, lambda i: 1),
            3: (OctetString, lambda i: o.names[i]),
            4: (Integer32, lambda i: i),
            5: (Integer32, lambda i: 2 if o.is_on(i) else 1),
            6: (Integer32, lambda i: 1 if o.pending(i) else 2),
            7: (OctetString, lambda i: ""),
        }.items():
            t.add_column(f"{sw}.3.1.{col}", outlets, syntax, getter)
        for col, (syntax, getter) in {
            1: (Integer32, lambda i: i),
            2: (Integer32, lambda i: 1),
            3: (OctetString, lambda i: o.names[i]),
            4: (Integer32, lambda i: i),
        }.items():
            t.add_column(f"{sw}.4.1.{col}", outlets, syntax, getter)
        t.add_column(f"{sw}.4.1.5", outlets, Integer32, lambda i: 1 if o.is_on(i) else 2, self._rpdu2_command)

        # rPDU2 outlets: metered (the last table this agent serves)
        t.add_scalar(f"{RPDU2}.9.3", Integer32, lambda: self.outlet_count)
        me = f"{RPDU2}.9.4"
        for col, (syntax, getter, setter) in {
            1: (Integer32, lambda i: i, None),
            2: (Integer32, lambda i: 1, None),
            3: (OctetString, lambda i: o.names[i], set_name),
            4: (Integer32, lambda i: i, None),
            5: (Integer32, lambda i: 0, None),
            6: (Integer32, lambda i: 8, None),
            7: (Integer32, lambda i: 10, None),
            8: (OctetString, lambda i: "", None),
        }.items():
            t.add_column(f"{me}.1.1.{col}", outlets, syntax, getter, setter)
        for col, (syntax, getter) in {
            1: (Integer32, lambda i: i),
            2: (Integer32, lambda i: 1),
            3: (OctetString, lambda i: o.names[i]),
            4: (Integer32, lambda i: i),
            5: (Integer32, self.phase_of),
            6: (Integer32, lambda i: 2300 if i > 21 else 2500),
            7: (Integer32, lambda i: 0),
        }.items():
            t.add_column(f"{me}.2.1.{col}", outlets, syntax, getter)
        metered = {
            1: (Integer32, lambda i: i),
            2: (Integer32, lambda i: 1),
            3: (OctetString, lambda i: o.names[i]),
            4: (Integer32, lambda i: i),
            5: (Integer32, lambda i: self.load_state(self.current_tenths(i) / 10, 0.0, 8.0, 10.0)),
            6: (Integer32, self._metered_current),
            7: (Integer32, self.outlet_watts),
            8: (Integer32, self.outlet_watts),
            9: (OctetString, lambda i: "04/11/2023 08:00:00"),
            10: (OctetString, lambda i: "04/11/2023 08:00:00"),
            11: (Integer32, lambda i: self.outlet_watts(i) * self.uptime() // 36_000_000),
            12: (OctetString, lambda i: "IEC C19" if i > 21 else "IEC C13"),
            13: (OctetString, lambda i: ""),
        }
        for col, (syntax, getter) in metered.items():
            t.add_column(f"{me}.3.1.{col}", outlets, syntax, getter)

    def _build_masterswitch(self, text_setter: Callable[..., Callable[[Any], None]]) -> None:
        """The legacy sPDU (masterswitch) group, a view of the same outlets and settings."""
        t = self.tree
        o = self.outlets
        outlets = range(1, self.outlet_count + 1)
        # sPDUIdent
        t.add_scalar(f"{SPDU}.1.1", OctetString, lambda: "02")  # sPDUIdentHardwareRev
        t.add_scalar(f"{SPDU}.1.2", OctetString, lambda: self.firmware)  # sPDUIdentFirmwareRev
        t.add_scalar(f"{SPDU}.1.3", OctetString, lambda: "04/11/2023")  # sPDUIdentDateOfManufacture
        t.add_scalar(f"{SPDU}.1.4", OctetString, lambda: self.model)  # sPDUIdentModelNumber
        t.add_scalar(f"{SPDU}.1.5", OctetString, lambda: self.serial)  # sPDUIdentSerialNumber
        # sPDUMasterControl: the switch reads noCommand(6); state/pending as 4-character cells
        t.add_scalar(f"{SPDU}.2.1", Integer32, lambda: 6, self._master_command)
        t.add_scalar(
            f"{SPDU}.2.2", OctetString, lambda: "".join("On  " if o.is_on(i) else "Off " for i in outlets)
        )
        t.add_scalar(
            f"{SPDU}.2.3", OctetString, lambda: "".join("Yes " if o.pending(i) else "No  " for i in outlets)
        )
        # sPDUMasterConfig: power-on delay, reboot delay (seconds), PDU name
        master = self.master_config
        t.add_scalar(f"{SPDU}.3.1", Integer32, lambda: master["power_on"], self._master_setter("power_on"))
        t.add_scalar(f"{SPDU}.3.2", Integer32, lambda: master["reboot"], self._master_setter("reboot"))

        def set_pdu_name(value: Any) -> None:
            store = {"name": self.device_name}
            text_setter(store, "name", 20)(value)
            self.device_name = store["name"]

        t.add_scalar(f"{SPDU}.3.3", OctetString, lambda: self.device_name, set_pdu_name)
        # sPDUOutletControlTable
        t.add_scalar(f"{SPDU}.4.1", Integer32, lambda: self.outlet_count)
        ctl = f"{SPDU}.4.2.1"
        t.add_column(f"{ctl}.1", outlets, Integer32, lambda i: i)
        t.add_column(f"{ctl}.2", outlets, Integer32, lambda i: 1 if o.pending(i) else 2)
        t.add_column(f"{ctl}.3", outlets, Integer32, lambda i: 1 if o.is_on(i) else 2, self._spdu_command)
        t.add_column(f"{ctl}.4", outlets, OctetString, lambda i: o.names[i])
        # sPDUOutletConfigTable (the same delays and names the rPDU2 config table sets)
        t.add_scalar(f"{SPDU}.5.1", Integer32, lambda: self.outlet_count)
        cfg = f"{SPDU}.5.2.1"

        def set_name(index: int, value: Any) -> None:
            text_setter(o.names, index)(value)

        t.add_column(f"{cfg}.1", outlets, Integer32, lambda i: i)
        t.add_column(
            f"{cfg}.2",
            outlets,
            Integer32,
            lambda i: o.power_on_time[i],
            _int_setter(o.power_on_time, -1, 7200),
        )
        t.add_column(f"{cfg}.3", outlets, OctetString, lambda i: o.names[i], set_name)
        t.add_column(
            f"{cfg}.4",
            outlets,
            Integer32,
            lambda i: o.power_off_time[i],
            _int_setter(o.power_off_time, -1, 7200),
        )
        t.add_column(
            f"{cfg}.5",
            outlets,
            Integer32,
            lambda i: o.reboot_duration[i],
            _int_setter(o.reboot_duration, 0, 300),
        )

    def _master_setter(self, key: str) -> Callable[[Any], None]:
        def setter(value: Any) -> None:
            number = int(value)
            if not -1 <= number <= 7200:
                raise WrongValue(f"{number} not in -1..7200")
            self.master_config[key] = number

        return setter

    def _metered_current(self, index: int) -> Any:
        tenths = self.current_tenths(index)
        if self.garbled:
            return OctetString(f"{tenths / 10:.1f} A")  # wrong type on the wire
        return tenths

    # -- SET handlers ----------------------------------------------------------
    def _rpdu2_command(self, index: int, value: Any) -> None:
        action = RPDU2_COMMANDS.get(int(value))
        if action is None:
            raise WrongValue(f"{int(value)} is not a command")
        self.outlets.command(index, action)

    def _spdu_command(self, index: int, value: Any) -> None:
        action = SPDU_COMMANDS.get(int(value))
        if action is None:
            raise WrongValue(f"{int(value)} is not a command")
        self.outlets.command(index, action)

    def _master_command(self, value: Any) -> None:
        number = int(value)
        if number not in SPDU_MASTER_COMMANDS:
            raise WrongValue(f"{number} is not a command")
        action = SPDU_MASTER_COMMANDS[number]
        if action is not None:
            for index in range(1, self.outlet_count + 1):
                self.outlets.command(index, action)

    def _legacy_command(self, index: int, value: Any) -> None:
        action = RPDU_COMMANDS.get(int(value))
        if action is None:
            raise WrongValue(f"{int(value)} is not a command")
        self.outlets.command(index, action)

    def _device_command(self, _index: int, value: Any) -> None:
        number = int(value)
        actions = {
            1: "on",
            2: "delayedOn",
            3: "off",
            4: "reboot",
            5: "delayedReboot",
            6: None,
            7: "delayedOff",
            8: "cancel",
        }
        if number not in actions:
            raise WrongValue(f"{number} is not a command")
        action = actions[number]
        if action is not None:
            for index in range(1, self.outlet_count + 1):
                self.outlets.command(index, action)


def start(ctx: SimContext, name: str) -> SimHandle:
    """Start the simulated APC rPDU2 PDU ``name`` of ``ctx.rack`` (entry point ``apc-rpdu2``)."""
    return start_pdu(ctx, name, "apc-rpdu2", lambda c, n: ApcPduModel(c, n, c.loop))
