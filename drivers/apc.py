"""APC Switched Rack PDU 2G driver (PowerNet-MIB, rPDU2 branch .1.3.6.1.4.1.318.1.1.26).

OIDs and encodings are PowerNet-MIB's (checked against the MIB as compiled by
pysmi and against mibs.observium.org's PowerNet-MIB pages):

* rPDU2IdentTable ``.2.1``: Name(3) FirmwareRev(6) ModelNumber(8) SerialNumber(9)
* rPDU2DevicePropertiesTable ``.4.2.1``: NumOutlets(4) NumPhases(7)
* rPDU2PhaseStatusTable ``.6.3.1``: Number(3) Current(5, tenths of A)
  Voltage(6, V) Power(7, hundredths of kW)
* rPDU2OutletSwitchedStatusTable ``.9.2.3.1``: Name(3) State(5, off(1)/on(2))
* rPDU2OutletSwitchedControlTable ``.9.2.4.1``: Command(5, immediateOn(1)
  immediateOff(2) immediateReboot(3) outletUnknown(4) delayedOn(5) delayedOff(6)
  delayedReboot(7) cancelPendingCommand(8))
* rPDU2OutletMeteredStatusTable ``.9.4.3.1``: Current(6, tenths of A)
* rPDU2OutletSwitchedPropertiesTable ``.9.2.2.1``: PhaseLayout(5,
  seqPhase1ToNeutral(1)...seqPhase3ToPhase1(6))

Tables are indexed by outlet number on a stand-alone PDU (1..N).
"""

from __future__ import annotations

from pysnmp.proto.rfc1902 import Integer32

from drivers.errors import DeviceError, DeviceProtocolError
from drivers.pdu import OutletAction, OutletReading, PduIdentity, PhaseReading
from drivers.snmp import decode_enum, decode_int, decode_scaled, decode_str
from drivers.snmp_pdu import SnmpPdu

RPDU2 = "1.3.6.1.4.1.318.1.1.26"
IDENT_NAME = f"{RPDU2}.2.1.3"
IDENT_FIRMWARE = f"{RPDU2}.2.1.6"
IDENT_MODEL = f"{RPDU2}.2.1.8"
IDENT_SERIAL = f"{RPDU2}.2.1.9"
DEVICE_NUM_OUTLETS = f"{RPDU2}.4.2.1.4"
DEVICE_NUM_PHASES = f"{RPDU2}.4.2.1.7"
PHASE_NUMBER = f"{RPDU2}.6.3.1.3"
PHASE_CURRENT = f"{RPDU2}.6.3.1.5"
PHASE_VOLTAGE = f"{RPDU2}.6.3.1.6"
PHASE_POWER = f"{RPDU2}.6.3.1.7"
OUTLET_PHASE_LAYOUT = f"{RPDU2}.9.2.2.1.5"
OUTLET_NAME = f"{RPDU2}.9.2.3.1.3"
OUTLET_STATE = f"{RPDU2}.9.2.3.1.5"
OUTLET_COMMAND = f"{RPDU2}.9.2.4.1.5"
OUTLET_CURRENT = f"{RPDU2}.9.4.3.1.6"

OUTLET_STATES = {1: "off", 2: "on"}
COMMANDS = {"on": 1, "off": 2, "cycle": 3}  # immediateOn, immediateOff, immediateReboot
# Rpdu2OutletPhaseLayoutType: phase-to-neutral outlets belong to that phase;
# phase-to-phase outlets are reported by their first phase.
PHASE_LAYOUT = {1: "L1", 2: "L2", 3: "L3", 4: "L1", 5: "L2", 6: "L3"}
PHASE_NAMES = {1: "L1", 2: "L2", 3: "L3"}


def decode_tenths_of_amps(value: object, device: str, oid: str) -> float:
    """rPDU2 currents: non-negative tenths of amps -> amps."""
    return round(decode_scaled(value, 10, device, oid), 1)


def decode_outlet_state(value: object, device: str, oid: str) -> str:
    """rPDU2OutletSwitchedStatusState: off(1) / on(2)."""
    return decode_enum(value, OUTLET_STATES, device, oid)


class ApcRpdu2(SnmpPdu):
    """:class:`drivers.pdu.Pdu` for APC rPDU2 units.

    The snapshot and the sync facade come from :class:`SnmpPdu`; this class reads the MIB.
    """

    # -- coroutines ----------------------------------------------------------
    async def aidentity(self) -> PduIdentity:
        values = await self._snmp.get(
            f"{IDENT_NAME}.1",
            f"{IDENT_MODEL}.1",
            f"{IDENT_SERIAL}.1",
            f"{IDENT_FIRMWARE}.1",
            f"{DEVICE_NUM_OUTLETS}.1",
            f"{DEVICE_NUM_PHASES}.1",
        )
        name, model, serial, firmware, outlets, phases = values.items()
        return PduIdentity(
            name=decode_str(name[1], self.name, name[0]),
            model=decode_str(model[1], self.name, model[0]),
            serial=decode_str(serial[1], self.name, serial[0]),
            firmware=decode_str(firmware[1], self.name, firmware[0]),
            outlet_count=decode_int(outlets[1], self.name, outlets[0]),
            phase_count=decode_int(phases[1], self.name, phases[0]),
        )

    async def aoutlets(self, cell_errors: dict[str, DeviceError] | None = None) -> list[OutletReading]:
        """All outlets. With ``cell_errors``, an unreadable current is recorded there
        (key ``current/<n>``) and read as None instead of failing the whole table."""
        table = await self._snmp.walk_columns(OUTLET_NAME, OUTLET_STATE, OUTLET_CURRENT, OUTLET_PHASE_LAYOUT)
        indexes = sorted(table[OUTLET_NAME], key=lambda i: self._index(OUTLET_NAME, i))
        return [self._outlet_reading(index, table, cell_errors) for index in indexes]

    def _outlet_reading(
        self,
        index: str,
        table: dict[str, dict[str, object]],
        cell_errors: dict[str, DeviceError] | None = None,
    ) -> OutletReading:
        def cell(column: str) -> object:
            try:
                return table[column][index]
            except KeyError:
                raise DeviceProtocolError(
                    self.name, f"GETBULK {column}", f"no row {index} (other columns have one)"
                ) from None

        layout = table[OUTLET_PHASE_LAYOUT].get(index)
        try:
            current = decode_tenths_of_amps(cell(OUTLET_CURRENT), self.name, f"{OUTLET_CURRENT}.{index}")
        except DeviceProtocolError as exc:
            if cell_errors is None:
                raise
            cell_errors[f"current/{self._index(OUTLET_NAME, index)}"] = exc
            current = None
        return OutletReading(
            index=self._index(OUTLET_NAME, index),
            name=decode_str(cell(OUTLET_NAME), self.name, f"{OUTLET_NAME}.{index}"),
            state=decode_outlet_state(  # type: ignore[arg-type]
                cell(OUTLET_STATE), self.name, f"{OUTLET_STATE}.{index}"
            ),
            current_a=current,
            phase=None
            if layout is None
            else decode_enum(layout, PHASE_LAYOUT, self.name, f"{OUTLET_PHASE_LAYOUT}.{index}"),
        )

    async def aoutlet(self, index: int) -> OutletReading:
        suffix = str(int(index))
        oids = [f"{c}.{suffix}" for c in (OUTLET_NAME, OUTLET_STATE, OUTLET_CURRENT, OUTLET_PHASE_LAYOUT)]
        values = await self._snmp.get(*oids)
        table = {
            col: {suffix: values[oid]}
            for col, oid in zip(
                (OUTLET_NAME, OUTLET_STATE, OUTLET_CURRENT, OUTLET_PHASE_LAYOUT), oids, strict=True
            )
        }
        return self._outlet_reading(suffix, table)

    async def aphases(self) -> list[PhaseReading]:
        table = await self._snmp.walk_columns(PHASE_NUMBER, PHASE_CURRENT, PHASE_VOLTAGE, PHASE_POWER)
        readings = []
        for index in sorted(table[PHASE_NUMBER], key=lambda i: self._index(PHASE_NUMBER, i)):
            where = f"{PHASE_NUMBER}.{index}"
            number = decode_enum(table[PHASE_NUMBER][index], PHASE_NAMES, self.name, where)
            try:
                current = table[PHASE_CURRENT][index]
                voltage = table[PHASE_VOLTAGE][index]
                power = table[PHASE_POWER][index]
            except KeyError:
                raise DeviceProtocolError(
                    self.name, f"GETBULK {RPDU2}.6.3.1", f"incomplete row {index}"
                ) from None
            readings.append(
                PhaseReading(
                    phase=number,
                    current_a=decode_tenths_of_amps(current, self.name, f"{PHASE_CURRENT}.{index}"),
                    voltage_v=float(decode_int(voltage, self.name, f"{PHASE_VOLTAGE}.{index}")),
                    # hundredths of kW -> W
                    power_w=decode_scaled(power, 1, self.name, f"{PHASE_POWER}.{index}") * 10,
                )
            )
        return readings

    async def aset_outlet(self, index: int, action: OutletAction) -> None:
        if action not in COMMANDS:
            raise ValueError(f"action must be one of {sorted(COMMANDS)}, not {action!r}")
        if int(index) < 1:
            raise ValueError(f"outlet index must be >= 1, not {index}")
        await self._snmp.set(f"{OUTLET_COMMAND}.{int(index)}", Integer32(COMMANDS[action]))

    def _index(self, column: str, index: str) -> int:
        """A table index that must be a single positive integer (outlet/phase number)."""
        if not index.isdigit() or int(index) < 1:
            raise DeviceProtocolError(self.name, f"GETBULK {column}", f"unexpected index {index!r}")
        return int(index)
