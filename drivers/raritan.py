"""Raritan PX2/PX3 intelligent rack PDU driver (PDU2-MIB, .1.3.6.1.4.1.13742.6).

OIDs and encodings are PDU2-MIB's (checked against the MIB as compiled by pysmi in
pysnmp-mibs, against Network UPS Tools' raritan-px2 subdriver, Checkmk's Raritan
plug-ins and xCAT's PDU2-MIB plug-in, and against LibreNMS's recorded walk of a
PX3-5493U-K2). Tables are indexed by pduId first (1 on a stand-alone PDU):

* nameplateEntry ``.3.2.1.1``: pduModel(3) pduSerialNumber(4)
* unitConfigurationEntry ``.3.2.2.1``: outletCount(4) pduName(13)
* controllerConfigurationEntry ``.3.2.3.1`` (pduId, boardType, boardIndex):
  boardFirmwareVersion(6) of mainController(1) 1 — the only pollable firmware version
* inletConfigurationEntry ``.3.3.3.1`` (pduId, inletId): inletPoleCount(5)
* outletConfigurationEntry ``.3.5.3.1`` (pduId, outletId): outletName(3)
* sensor configuration entries, INDEX (..., sensorType): units(6), decimalDigits(7) —
  inlet ``.3.3.4.1``, inlet pole ``.3.3.6.1``, outlet ``.3.5.4.1``
* outletSwitchControlEntry ``.4.1.2.1``: switchingOperation(2, writes off(0) on(1)
  cycle(2)), outletSwitchingState(3, SensorStateEnumeration: on(7) off(8))
* sensor measurements, Value(4) an Unsigned32 in 10^-decimalDigits units — inlet
  ``.5.2.3.1``, inlet pole ``.5.2.4.1`` (pduId, inletId, inletPoleIndex, sensorType),
  outlet ``.5.4.3.1``

SensorTypeEnumeration: rmsCurrent(1), rmsVoltage(4), activePower(5). A reading is
never scaled by a guessed factor: the driver reads each sensor's decimal digits
from the PDU (once per session; they are fixed by the model's metering hardware).

Phases: a 3-phase inlet has 3 poles (L1..L3, a wye inlet may report a 4th, N);
its phases are the poles' rmsCurrent/rmsVoltage/activePower. A single-phase inlet
(2 poles, L and N) reports those sensors on the inlet itself. PDU2-MIB does not
name an outlet's phase in the outlet tables, so ``OutletReading.phase`` is None.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pysnmp.proto.rfc1902 import Integer32

from drivers.aio import LoopThread
from drivers.base import Target
from drivers.errors import DeviceError, DeviceProtocolError
from drivers.pdu import OutletAction, OutletReading, PduIdentity, PhaseReading
from drivers.snmp import decode_enum, decode_int, decode_str
from drivers.snmp_pdu import SnmpPdu

PDU2 = "1.3.6.1.4.1.13742.6"
PDU_ID = 1
INLET_ID = 1
MAIN_CONTROLLER = 1

PDU_MODEL = f"{PDU2}.3.2.1.1.3"
PDU_SERIAL = f"{PDU2}.3.2.1.1.4"
OUTLET_COUNT = f"{PDU2}.3.2.2.1.4"
PDU_NAME = f"{PDU2}.3.2.2.1.13"
BOARD_FIRMWARE = f"{PDU2}.3.2.3.1.6"
INLET_POLE_COUNT = f"{PDU2}.3.3.3.1.5"
INLET_SENSOR_DIGITS = f"{PDU2}.3.3.4.1.7"
POLE_SENSOR_DIGITS = f"{PDU2}.3.3.6.1.7"
OUTLET_NAME = f"{PDU2}.3.5.3.1.3"
OUTLET_SENSOR_DIGITS = f"{PDU2}.3.5.4.1.7"
SWITCHING_OPERATION = f"{PDU2}.4.1.2.1.2"
SWITCHING_STATE = f"{PDU2}.4.1.2.1.3"
INLET_SENSOR_VALUE = f"{PDU2}.5.2.3.1.4"
POLE_SENSOR_VALUE = f"{PDU2}.5.2.4.1.4"
OUTLET_SENSOR_VALUE = f"{PDU2}.5.4.3.1.4"

RMS_CURRENT, RMS_VOLTAGE, ACTIVE_POWER = 1, 4, 5
OUTLET_STATES = {7: "on", 8: "off"}  # SensorStateEnumeration on(7) / off(8)
OPERATIONS = {"off": 0, "on": 1, "cycle": 2}  # switchingOperation
PHASE_NAMES = ("L1", "L2", "L3")
MAX_DIGITS = 9  # PDU2-MIB decimal digits are small; anything larger is garbage
GET_CHUNK = 48  # varbinds per GET


# --------------------------------------------------------------------------
# parsing: raw SNMP values -> measurements (plain functions, property-tested)
# --------------------------------------------------------------------------
def decode_digits(value: Any, device: str, oid: str) -> int:
    """A sensor's decimal digits (Unsigned32, 0..MAX_DIGITS)."""
    digits = decode_int(value, device, oid)
    if not 0 <= digits <= MAX_DIGITS:
        raise DeviceProtocolError(device, f"GET {oid}", f"{digits} decimal digits is out of range")
    return digits


def scale_reading(raw: int, digits: int) -> float:
    """PDU2-MIB sensor value ``raw`` with ``digits`` decimal digits: raw / 10^digits."""
    if raw < 0:
        raise ValueError(f"a sensor value is unsigned, not {raw}")
    if not 0 <= digits <= MAX_DIGITS:
        raise ValueError(f"decimal digits must be 0..{MAX_DIGITS}, not {digits}")
    return round(raw / 10**digits, digits)


def decode_reading(value: Any, digits: int, device: str, oid: str) -> float:
    """measurementsXSensorValue as a float in the sensor's units; a non-integer raises."""
    return scale_reading(decode_int(value, device, oid), digits)


def decode_outlet_state(value: Any, device: str, oid: str) -> str:
    """outletSwitchingState: on(7) / off(8); any other sensor state is a protocol error."""
    return decode_enum(value, OUTLET_STATES, device, oid)


def phase_count_of_poles(poles: int) -> int:
    """inletPoleCount -> phases: 2 poles (L+N, or L1+L2 split) is one phase; 3 or 4 is three."""
    if poles >= 3:
        return 3
    if poles >= 1:
        return 1
    raise ValueError(f"an inlet has at least one pole, not {poles}")


class RaritanPx(SnmpPdu):
    """:class:`drivers.pdu.Pdu` for Raritan PDU2-MIB units.

    The snapshot and the sync facade come from :class:`SnmpPdu`; this class reads the MIB.
    """

    def __init__(self, target: Target, loop: LoopThread) -> None:
        super().__init__(target, loop)
        self._digits: dict[str, int] = {}  # sensor OID suffix -> decimal digits
        self._outlet_count: int | None = None
        self._poles: int | None = None

    # -- helpers -------------------------------------------------------------
    async def _get(self, oids: list[str]) -> dict[str, Any]:
        chunks = [oids[i : i + GET_CHUNK] for i in range(0, len(oids), GET_CHUNK)]
        values: dict[str, Any] = {}
        for result in await asyncio.gather(*(self._snmp.get(*chunk) for chunk in chunks)):
            values.update(result)
        return values

    async def _ensure_digits(self, digit_oids: list[str]) -> None:
        missing = [oid for oid in digit_oids if oid not in self._digits]
        if missing:
            values = await self._get(missing)
            for oid in missing:
                self._digits[oid] = decode_digits(values[oid], self.name, oid)

    async def _counts(self) -> tuple[int, int]:
        if self._outlet_count is None or self._poles is None:
            count_oid = f"{OUTLET_COUNT}.{PDU_ID}"
            poles_oid = f"{INLET_POLE_COUNT}.{PDU_ID}.{INLET_ID}"
            values = await self._snmp.get(count_oid, poles_oid)
            self._outlet_count = decode_int(values[count_oid], self.name, count_oid)
            self._poles = decode_int(values[poles_oid], self.name, poles_oid)
        return self._outlet_count, self._poles

    # -- coroutines ----------------------------------------------------------
    async def aidentity(self) -> PduIdentity:
        oids = [
            f"{PDU_NAME}.{PDU_ID}",
            f"{PDU_MODEL}.{PDU_ID}",
            f"{PDU_SERIAL}.{PDU_ID}",
            f"{BOARD_FIRMWARE}.{PDU_ID}.{MAIN_CONTROLLER}.1",
            f"{OUTLET_COUNT}.{PDU_ID}",
            f"{INLET_POLE_COUNT}.{PDU_ID}.{INLET_ID}",
        ]
        values = await self._snmp.get(*oids)
        name, model, serial, firmware, outlets, poles = (values[o] for o in oids)
        pole_count = decode_int(poles, self.name, oids[5])
        try:
            phases = phase_count_of_poles(pole_count)
        except ValueError as exc:
            raise DeviceProtocolError(self.name, f"GET {oids[5]}", str(exc)) from None
        return PduIdentity(
            name=decode_str(name, self.name, oids[0]),
            model=decode_str(model, self.name, oids[1]),
            serial=decode_str(serial, self.name, oids[2]),
            firmware=decode_str(firmware, self.name, oids[3]),
            outlet_count=decode_int(outlets, self.name, oids[4]),
            phase_count=phases,
        )

    async def aoutlets(self, cell_errors: dict[str, DeviceError] | None = None) -> list[OutletReading]:
        """All outlets. With ``cell_errors``, an unreadable current is recorded there
        (key ``current/<n>``) and read as None instead of failing the whole table."""
        count, _ = await self._counts()
        return await self._read_outlets(list(range(1, count + 1)), cell_errors)

    async def aoutlet(self, index: int) -> OutletReading:
        if int(index) < 1:
            raise ValueError(f"outlet index must be >= 1, not {index}")
        return (await self._read_outlets([int(index)], None))[0]

    async def _read_outlets(
        self, indexes: list[int], cell_errors: dict[str, DeviceError] | None
    ) -> list[OutletReading]:
        def suffix(i: int, sensor: int | None = None) -> str:
            return f"{PDU_ID}.{i}" if sensor is None else f"{PDU_ID}.{i}.{sensor}"

        await self._ensure_digits([f"{OUTLET_SENSOR_DIGITS}.{suffix(i, RMS_CURRENT)}" for i in indexes])
        oids: list[str] = []
        for i in indexes:
            oids += [
                f"{OUTLET_NAME}.{suffix(i)}",
                f"{SWITCHING_STATE}.{suffix(i)}",
                f"{OUTLET_SENSOR_VALUE}.{suffix(i, RMS_CURRENT)}",
            ]
        values = await self._get(oids)
        readings = []
        for i in indexes:
            name_oid, state_oid, current_oid = (
                f"{OUTLET_NAME}.{suffix(i)}",
                f"{SWITCHING_STATE}.{suffix(i)}",
                f"{OUTLET_SENSOR_VALUE}.{suffix(i, RMS_CURRENT)}",
            )
            digits = self._digits[f"{OUTLET_SENSOR_DIGITS}.{suffix(i, RMS_CURRENT)}"]
            try:
                current: float | None = decode_reading(values[current_oid], digits, self.name, current_oid)
            except DeviceProtocolError as exc:
                if cell_errors is None:
                    raise
                cell_errors[f"current/{i}"] = exc
                current = None
            readings.append(
                OutletReading(
                    index=i,
                    name=decode_str(values[name_oid], self.name, name_oid),
                    state=decode_outlet_state(values[state_oid], self.name, state_oid),  # type: ignore[arg-type]
                    current_a=current,
                    phase=None,
                )
            )
        return readings

    async def aphases(self) -> list[PhaseReading]:
        _, poles = await self._counts()
        if phase_count_of_poles(poles) == 3:
            table = await self._snmp.walk_columns(
                f"{POLE_SENSOR_VALUE}.{PDU_ID}.{INLET_ID}", f"{POLE_SENSOR_DIGITS}.{PDU_ID}.{INLET_ID}"
            )
            values, digits = table.values()
            return [
                self._phase(PHASE_NAMES[pole - 1], values, digits, f"{pole}.", POLE_SENSOR_VALUE)
                for pole in range(1, 4)
            ]
        table = await self._snmp.walk_columns(
            f"{INLET_SENSOR_VALUE}.{PDU_ID}.{INLET_ID}", f"{INLET_SENSOR_DIGITS}.{PDU_ID}.{INLET_ID}"
        )
        values, digits = table.values()
        return [self._phase("L1", values, digits, "", INLET_SENSOR_VALUE)]

    def _phase(
        self, phase: str, values: Mapping[str, Any], digits: Mapping[str, Any], prefix: str, column: str
    ) -> PhaseReading:
        where = f"{column}.{PDU_ID}.{INLET_ID}.{prefix}"

        def reading(sensor: int, required: bool = True) -> float | None:
            key = f"{prefix}{sensor}"
            if key not in values or key not in digits:
                if not required:
                    return None
                raise DeviceProtocolError(self.name, f"GETBULK {column}", f"no sensor {where}{sensor}")
            scale = decode_digits(digits[key], self.name, f"{where}{sensor} (digits)")
            return decode_reading(values[key], scale, self.name, f"{where}{sensor}")

        return PhaseReading(
            phase=phase,
            current_a=reading(RMS_CURRENT),  # type: ignore[arg-type]
            voltage_v=reading(RMS_VOLTAGE),  # type: ignore[arg-type]
            power_w=reading(ACTIVE_POWER, required=False),
        )

    async def aset_outlet(self, index: int, action: OutletAction) -> None:
        if action not in OPERATIONS:
            raise ValueError(f"action must be one of {sorted(OPERATIONS)}, not {action!r}")
        if int(index) < 1:
            raise ValueError(f"outlet index must be >= 1, not {index}")
        await self._snmp.set(f"{SWITCHING_OPERATION}.{PDU_ID}.{int(index)}", Integer32(OPERATIONS[action]))
