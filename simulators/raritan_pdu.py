"""Simulator of a Raritan PX3 intelligent rack PDU (PDU2-MIB, enterprise 13742) over SNMP.

Faithful to PDU2-MIB, not to our driver. Where the facts come from:

* the PDU2-MIB objects and their OIDs, as compiled by pysmi (pysnmp-mibs' PDU2-MIB)
  and as used by Network UPS Tools' raritan-px2 subdriver, Checkmk's Raritan PX2
  inlet plug-in and xCAT's generic PDU2-MIB plug-in;
* a real PX3's answers: LibreNMS's recorded walk of a PX3-5493U-K2 running
  4.2.0.5-50274 (``tests/snmpsim/raritan-pdu_px3.snmprec``): sysDescr
  ``Raritan PDU, MD:<model> HW:0x10 FW:<firmware>``, sysObjectID
  ``.1.3.6.1.4.1.13742.6`` (the PDU2-MIB module itself; PX2/PX3/PX4 all report it),
  sensor units and decimal digits (rmsCurrent amp/3 digits, rmsVoltage volt/0,
  activePower watt/0, apparentPower voltamp/0, powerFactor none/2, activeEnergy
  wattHour/0, frequency hertz/1), outlet configuration columns.

What it serves (pduId 1: a stand-alone unit, inlet 1):

* MIB-II ``system``;
* ``pduCount`` (.6.3.1.0);
* nameplateTable (.6.3.2.1.1: pduManufacturer(2) pduModel(3) pduSerialNumber(4)
  pduRatedVoltage(5) pduRatedCurrent(6) pduRatedFrequency(7) pduRatedVA(8));
* unitConfigurationTable (.6.3.2.2.1: inletCount(2) overCurrentProtectorCount(3)
  outletCount(4) pduName(13, settable) globalOutletPowerCyclingPowerOffPeriod(37,
  settable, seconds));
* controllerConfigurationTable (.6.3.2.3.1, INDEX pduId, boardType, boardIndex):
  boardVersion(4), boardFirmwareVersion(6) of mainController(1) 1 — PDU2-MIB has no
  other pollable firmware version;
* inletConfigurationTable (.6.3.3.3.1: inletLabel(2) inletName(3) inletPoleCount(5)
  inletRatedVoltage(6) inletRatedCurrent(7));
* inletSensorConfigurationTable (.6.3.3.4.1) and inletPoleSensorConfigurationTable
  (.6.3.3.6.1): sensorUnits(6) SensorUnitsEnumeration, sensorDecimalDigits(7);
* outletConfigurationTable (.6.3.5.3.1: outletLabel(2) outletName(3, settable)
  outletPoleCount(5) outletRatedVoltage(6) outletRatedCurrent(7) outletSwitchable(28)
  outletReceptacleDescriptor(29));
* outletSensorConfigurationTable (.6.3.5.4.1: units(6), decimal digits(7));
* outletSwitchControlTable (.6.4.1.2.1: switchingOperation(2) writes off(0) on(1)
  cycle(2); outletSwitchingState(3) reads the SensorStateEnumeration on(7)/off(8);
  outletSwitchingTimeStamp(4));
* measurements: inletSensorMeasurementsTable (.6.5.2.3.1), inletPoleSensorMeasurementsTable
  (.6.5.2.4.1, INDEX pduId, inletId, inletPoleIndex, sensorType) and
  outletSensorMeasurementsTable (.6.5.4.3.1, the last table served): IsAvailable(2)
  TruthValue, State(3), Value(4) Unsigned32 scaled by 10^decimalDigits,
  TimeStamp(5), SignedValue(6).

Sensor types (SensorTypeEnumeration): rmsCurrent(1) unbalancedCurrent(3) rmsVoltage(4)
activePower(5) apparentPower(6) powerFactor(7) activeEnergy(8) onOff(14) frequency(23).
"""

from __future__ import annotations

import asyncio
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
PDU2 = "1.3.6.1.4.1.13742.6"
SYS_OBJECT_ID = PDU2  # what PX2/PX3 units report: the PDU2-MIB module OID
PDU_ID = 1
INLET_ID = 1
MAIN_CONTROLLER = 1  # BoardTypeEnumeration mainController(1)

DEFAULT_MODEL = "PX3-5496V"
DEFAULT_FIRMWARE = "4.2.0.5-50274"
NOMINAL_VOLTS = 230  # line to neutral, 230/400 V wye
FREQUENCY_HZ = 50
POWER_FACTOR = 0.95
DEFAULT_CYCLE_OFF_S = 10  # globalOutletPowerCyclingPowerOffPeriod

# SensorTypeEnumeration
RMS_CURRENT, UNBALANCED_CURRENT, RMS_VOLTAGE = 1, 3, 4
ACTIVE_POWER, APPARENT_POWER, POWER_FACTOR_T, ACTIVE_ENERGY = 5, 6, 7, 8
ON_OFF, FREQUENCY = 14, 23
# SensorUnitsEnumeration
NONE, VOLT, AMP, WATT, VOLTAMP, WATT_HOUR, HERTZ, PERCENT = -1, 1, 2, 3, 4, 5, 8, 9
# SensorStateEnumeration
STATE_NORMAL, STATE_ON, STATE_OFF = 4, 7, 8
TRUE, FALSE = 1, 2  # TruthValue
# switchingOperation
SWITCH_OFF, SWITCH_ON, SWITCH_CYCLE = 0, 1, 2

# sensor -> (units, decimal digits), as the captured PX3 reports them
SENSOR_FORMAT: dict[int, tuple[int, int]] = {
    RMS_CURRENT: (AMP, 3),
    UNBALANCED_CURRENT: (PERCENT, 0),
    RMS_VOLTAGE: (VOLT, 0),
    ACTIVE_POWER: (WATT, 0),
    APPARENT_POWER: (VOLTAMP, 0),
    POWER_FACTOR_T: (NONE, 2),
    ACTIVE_ENERGY: (WATT_HOUR, 0),
    ON_OFF: (NONE, 0),
    FREQUENCY: (HERTZ, 1),
}
OUTLET_SENSORS = (
    RMS_CURRENT,
    RMS_VOLTAGE,
    ACTIVE_POWER,
    APPARENT_POWER,
    POWER_FACTOR_T,
    ACTIVE_ENERGY,
    ON_OFF,
)
POLE_SENSORS = (RMS_CURRENT, RMS_VOLTAGE, ACTIVE_POWER, APPARENT_POWER, POWER_FACTOR_T, ACTIVE_ENERGY)
INLET_SENSORS_1P = (
    RMS_CURRENT,
    RMS_VOLTAGE,
    ACTIVE_POWER,
    APPARENT_POWER,
    POWER_FACTOR_T,
    ACTIVE_ENERGY,
    FREQUENCY,
)
INLET_SENSORS_3P = (
    UNBALANCED_CURRENT,
    ACTIVE_POWER,
    APPARENT_POWER,
    POWER_FACTOR_T,
    ACTIVE_ENERGY,
    FREQUENCY,
)

PHASES = ("L1", "L2", "L3")

Row = tuple[int, ...]


def scaled(value: float, digits: int) -> int:
    """A reading as PDU2-MIB carries it: a non-negative integer of 10^-digits units."""
    return max(0, round(value * 10**digits))


class RaritanPduModel:
    """The PDU2-MIB of one simulated PX, computed from the shared rack state."""

    def __init__(self, ctx: SimContext, name: str, loop: asyncio.AbstractEventLoop) -> None:
        device = ctx.rack.devices[name]
        self.name = name
        self.device = device
        self.state: RackState = ctx.state
        self.loop = loop
        self.outlet_count = device.outlets
        self.phase_count = device.phases
        self.model = device.expected.model or DEFAULT_MODEL
        self.serial = device.expected.serial or f"1S{zlib.crc32(name.encode()) % 10**8:08d}"
        self.firmware = device.expected.firmware or DEFAULT_FIRMWARE
        self.garbled = False
        self.started = time.monotonic()
        self.pdu_name = name
        self.cycle_off_s = DEFAULT_CYCLE_OFF_S
        self.switched_at = dict.fromkeys(range(1, device.outlets + 1), int(time.time()))
        self._timers: dict[int, asyncio.TimerHandle] = {}
        feeds = {f.index: f for f in ctx.rack.feeds_of(name)}
        self.names = {i: (feeds[i].outlet_name if i in feeds else "") for i in range(1, device.outlets + 1)}
        self.sys = {"contact": "rack-integration@example.com", "name": name, "location": ctx.rack.rack.serial}
        self.tree = MibTree()
        self._build()

    # -- physics ---------------------------------------------------------------
    def uptime(self) -> int:
        return int((time.monotonic() - self.started) * 100)

    def is_on(self, outlet: int) -> bool:
        return self.state.outlet_on(self.name, outlet)

    def outlet_amps(self, outlet: int) -> float:
        return self.state.outlet_current(self.name, outlet)

    def pole_amps(self, pole: int) -> float:
        return self.state.phase_current(self.name, PHASES[pole - 1])

    def inlet_amps(self) -> float:
        return sum(self.state.phase_current(self.name, p) for p in PHASES[: self.phase_count])

    def _electrical(self, amps: float, volts: float, sensor: int) -> float:
        if sensor == RMS_CURRENT:
            return amps
        if sensor == RMS_VOLTAGE:
            return volts
        if sensor == ACTIVE_POWER:
            return amps * volts * POWER_FACTOR
        if sensor == APPARENT_POWER:
            return amps * volts
        if sensor == POWER_FACTOR_T:
            return POWER_FACTOR if amps > 0 else 0.0
        if sensor == ACTIVE_ENERGY:
            return amps * volts * POWER_FACTOR * (time.monotonic() - self.started) / 3600
        if sensor == FREQUENCY:
            return FREQUENCY_HZ
        return 0.0

    def outlet_value(self, outlet: int, sensor: int) -> Any:
        digits = SENSOR_FORMAT[sensor][1]
        if sensor == ON_OFF:
            return 0
        amps = self.outlet_amps(outlet)
        volts = NOMINAL_VOLTS if self.is_on(outlet) else 0
        raw = scaled(self._electrical(amps, volts, sensor), digits)
        if sensor == RMS_CURRENT and self.garbled:
            return OctetString(f"{amps:.3f} A")  # wrong type on the wire (firmware bug)
        return raw

    def pole_value(self, pole: int, sensor: int) -> int:
        return scaled(self._electrical(self.pole_amps(pole), NOMINAL_VOLTS, sensor), SENSOR_FORMAT[sensor][1])

    def inlet_value(self, sensor: int) -> int:
        digits = SENSOR_FORMAT[sensor][1]
        if sensor == UNBALANCED_CURRENT:
            currents = [self.pole_amps(p) for p in range(1, self.phase_count + 1)]
            mean = sum(currents) / len(currents)
            return 0 if mean == 0 else scaled((max(currents) - mean) / mean * 100, digits)
        amps = self.inlet_amps()
        return scaled(self._electrical(amps, NOMINAL_VOLTS, sensor), digits)

    def sys_descr(self) -> str:
        return f"Raritan PDU, MD:{self.model} HW:0x10 FW:{self.firmware}"

    # -- switching -------------------------------------------------------------
    def _set(self, outlet: int, on: bool) -> None:
        self.state.set_outlet(self.name, outlet, on)
        self.switched_at[outlet] = int(time.time())

    def switch(self, row: Row, value: Any) -> None:
        outlet = row[1]
        operation = int(value)
        if operation not in (SWITCH_OFF, SWITCH_ON, SWITCH_CYCLE):
            raise WrongValue(f"{operation} is not off(0), on(1) or cycle(2)")
        timer = self._timers.pop(outlet, None)
        if timer is not None:
            timer.cancel()
        if operation == SWITCH_CYCLE:
            self._set(outlet, False)
            self._timers[outlet] = self.loop.call_later(self.cycle_off_s, self._set, outlet, True)
        else:
            self._set(outlet, operation == SWITCH_ON)

    def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # -- MIB -------------------------------------------------------------------
    def _build(self) -> None:
        t = self.tree
        pdu = [(PDU_ID,)]
        inlet = [(PDU_ID, INLET_ID)]
        outlets = [(PDU_ID, i) for i in range(1, self.outlet_count + 1)]
        poles = range(1, self.phase_count + 1) if self.phase_count == 3 else range(0)
        inlet_sensors = INLET_SENSORS_3P if self.phase_count == 3 else INLET_SENSORS_1P
        rated_v = "380-415V" if self.phase_count == 3 else "200-240V"
        rated_a = f"{int(self.device.rated_current_a)}A"

        def text(store: dict, key: Any, limit: int) -> Callable[..., None]:
            def setter(*args: Any) -> None:
                raw = bytes(args[-1])
                if len(raw) > limit:
                    error = SetError("too long")
                    error.status = "wrongLength"
                    raise error
                store[key if not callable(key) else key(*args[:-1])] = raw.decode("utf-8", "replace")

            return setter

        # MIB-II system
        t.add_scalar(f"{SYSTEM}.1", OctetString, self.sys_descr)
        t.add_scalar(f"{SYSTEM}.2", ObjectIdentifier, lambda: ObjectIdentifier(SYS_OBJECT_ID))
        t.add_scalar(f"{SYSTEM}.3", TimeTicks, self.uptime)
        for sub, key in ((4, "contact"), (5, "name"), (6, "location")):
            t.add_scalar(f"{SYSTEM}.{sub}", OctetString, lambda k=key: self.sys[k], text(self.sys, key, 255))
        t.add_scalar(f"{SYSTEM}.7", Integer32, lambda: 72)

        # pduCount, nameplate, unit configuration
        t.add_scalar(f"{PDU2}.3.1", Integer32, lambda: 1)
        nameplate = f"{PDU2}.3.2.1.1"
        for col, value in {
            2: lambda r: "Raritan",
            3: lambda r: self.model,
            4: lambda r: self.serial,
            5: lambda r: rated_v,
            6: lambda r: rated_a,
            7: lambda r: "50/60Hz",
            8: lambda r: (
                f"{round(self.device.rated_current_a * NOMINAL_VOLTS * self.phase_count / 1000, 1)}kVA"
            ),
        }.items():
            t.add_rows(f"{nameplate}.{col}", pdu, OctetString, value)
        unit = f"{PDU2}.3.2.2.1"
        t.add_rows(f"{unit}.2", pdu, Integer32, lambda r: 1)  # inletCount
        t.add_rows(f"{unit}.3", pdu, Integer32, lambda r: 0)  # overCurrentProtectorCount
        t.add_rows(f"{unit}.4", pdu, Integer32, lambda r: self.outlet_count)  # outletCount
        store = {"name": self.pdu_name}

        def set_pdu_name(row: Row, value: Any) -> None:
            text(store, "name", 32)(value)
            self.pdu_name = store["name"]

        t.add_rows(f"{unit}.13", pdu, OctetString, lambda r: self.pdu_name, set_pdu_name)

        def set_cycle(row: Row, value: Any) -> None:
            seconds = int(value)
            if not 1 <= seconds <= 3600:
                raise WrongValue(f"{seconds} not in 1..3600")
            self.cycle_off_s = seconds

        t.add_rows(f"{unit}.37", pdu, Gauge32, lambda r: self.cycle_off_s, set_cycle)
        # controller configuration: the main controller's firmware
        board = [(PDU_ID, MAIN_CONTROLLER, 1)]
        t.add_rows(f"{PDU2}.3.2.3.1.4", board, OctetString, lambda r: "0x10")
        t.add_rows(f"{PDU2}.3.2.3.1.6", board, OctetString, lambda r: self.firmware)

        # inlet configuration and sensor configuration
        icfg = f"{PDU2}.3.3.3.1"
        t.add_rows(f"{icfg}.2", inlet, OctetString, lambda r: "I1")
        t.add_rows(f"{icfg}.3", inlet, OctetString, lambda r: "")
        t.add_rows(f"{icfg}.5", inlet, Integer32, lambda r: 3 if self.phase_count == 3 else 2)
        t.add_rows(f"{icfg}.6", inlet, OctetString, lambda r: rated_v)
        t.add_rows(f"{icfg}.7", inlet, OctetString, lambda r: rated_a)
        self._sensor_config(f"{PDU2}.3.3.4.1", [(PDU_ID, INLET_ID, s) for s in inlet_sensors])
        self._sensor_config(
            f"{PDU2}.3.3.6.1", [(PDU_ID, INLET_ID, p, s) for p in poles for s in POLE_SENSORS]
        )

        # outlet configuration and sensor configuration
        ocfg = f"{PDU2}.3.5.3.1"
        t.add_rows(f"{ocfg}.2", outlets, OctetString, lambda r: str(r[1]))
        t.add_rows(
            f"{ocfg}.3",
            outlets,
            OctetString,
            lambda r: self.names[r[1]],
            text(self.names, lambda r: r[1], 64),
        )
        t.add_rows(f"{ocfg}.5", outlets, Integer32, lambda r: 2)
        t.add_rows(f"{ocfg}.6", outlets, OctetString, lambda r: "200-240V")
        t.add_rows(f"{ocfg}.7", outlets, OctetString, lambda r: "16A" if self._c19(r[1]) else "10A")
        t.add_rows(f"{ocfg}.28", outlets, Integer32, lambda r: TRUE)
        t.add_rows(
            f"{ocfg}.29",
            outlets,
            OctetString,
            lambda r: "IEC 60320 C19" if self._c19(r[1]) else "IEC 60320 C13",
        )
        self._sensor_config(f"{PDU2}.3.5.4.1", [(PDU_ID, i, s) for _, i in outlets for s in OUTLET_SENSORS])

        # outlet switching control
        ctl = f"{PDU2}.4.1.2.1"
        t.add_rows(
            f"{ctl}.2",
            outlets,
            Integer32,
            lambda r: SWITCH_ON if self.is_on(r[1]) else SWITCH_OFF,
            self.switch,
        )
        t.add_rows(f"{ctl}.3", outlets, Integer32, lambda r: STATE_ON if self.is_on(r[1]) else STATE_OFF)
        t.add_rows(f"{ctl}.4", outlets, Gauge32, lambda r: self.switched_at[r[1]])

        # measurements
        self._measurements(
            f"{PDU2}.5.2.3.1",
            [(PDU_ID, INLET_ID, s) for s in inlet_sensors],
            lambda r: self.inlet_value(r[2]),
        )
        self._measurements(
            f"{PDU2}.5.2.4.1",
            [(PDU_ID, INLET_ID, p, s) for p in poles for s in POLE_SENSORS],
            lambda r: self.pole_value(r[2], r[3]),
        )
        self._measurements(
            f"{PDU2}.5.4.3.1",
            [(PDU_ID, i, s) for _, i in outlets for s in OUTLET_SENSORS],
            lambda r: self.outlet_value(r[1], r[2]),
            state=lambda r: (STATE_ON if self.is_on(r[1]) else STATE_OFF) if r[2] == ON_OFF else STATE_NORMAL,
        )

    def _c19(self, outlet: int) -> bool:
        return outlet % 6 == 0  # one C19 in every group of six, as on the captured PX3

    def _sensor_config(self, entry: str, rows: list[Row]) -> None:
        self.tree.add_rows(f"{entry}.4", rows, Integer32, lambda r: TRUE)  # logAvailable
        self.tree.add_rows(f"{entry}.6", rows, Integer32, lambda r: SENSOR_FORMAT[r[-1]][0])
        self.tree.add_rows(f"{entry}.7", rows, Gauge32, lambda r: SENSOR_FORMAT[r[-1]][1])

    def _measurements(
        self,
        entry: str,
        rows: list[Row],
        value: Callable[[Row], Any],
        state: Callable[[Row], int] = lambda r: STATE_NORMAL,
    ) -> None:
        t = self.tree
        t.add_rows(f"{entry}.2", rows, Integer32, lambda r: TRUE)
        t.add_rows(f"{entry}.3", rows, Integer32, state)
        t.add_rows(f"{entry}.4", rows, Gauge32, value)
        t.add_rows(f"{entry}.5", rows, Gauge32, lambda r: int(time.time()))

        def signed(row: Row) -> Any:
            raw = value(row)
            return raw if isinstance(raw, OctetString) else min(int(raw), 2**31 - 1)

        t.add_rows(f"{entry}.6", rows, Integer32, signed)


def start(ctx: SimContext, name: str) -> SimHandle:
    """Start the simulated Raritan PX ``name`` of ``ctx.rack`` (entry point ``raritan-px``)."""
    return start_pdu(ctx, name, "raritan-px", lambda c, n: RaritanPduModel(c, n, c.loop))
