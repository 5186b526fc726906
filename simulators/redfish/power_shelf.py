"""A power shelf's controller: PowerEquipment/PowerShelves/1 (PowerDistribution) with its PSUs.

The shelf's AC inputs are its host's PDU outlets (the power map's ``load:``);
each input is a ``Mains`` circuit, the DC busbar a ``Branches`` circuit at about
``shelf.output_voltage_v``. The output power is the AC input power times
:data:`EFFICIENCY`, shared by the PSUs that work. The controller runs on the
shelf's power: while no outlet feeds the shelf it is unreachable.

Faults: ``psu_failed {psu}`` (that PSU reports Health Critical and delivers
nothing; the others carry the load), ``firmware {version}``, and the common
ones of :mod:`simulators.redfish.service`.
"""

from __future__ import annotations

from typing import Any

from rackval.errors import ConfigError
from simulators.base import SimContext, SimHandle
from simulators.redfish import physics
from simulators.redfish.service import (
    ROOT,
    Payload,
    RedfishService,
    collection,
    excerpt,
    link,
    manager,
    odata,
    sensor,
    status,
    worst,
)
from simulators.scenario import Fault

EFFICIENCY = 0.95
EQUIPMENT = f"{ROOT}/PowerEquipment"
SHELVES = f"{EQUIPMENT}/PowerShelves"
SHELF = f"{SHELVES}/1"
CHASSIS = f"{ROOT}/Chassis/1"


class PowerShelfService(RedfishService):
    driver = "redfish-power-shelf"
    kind = "power_shelf"
    product = "rackval simulated power shelf controller"
    kind_faults = {"psu_failed": {"psu": int}, "firmware": {"version": str}}

    def __init__(self, ctx: SimContext, name: str) -> None:
        self.failed: set[int] = set()
        self.firmware_version: str | None = None
        super().__init__(ctx, name)
        self.spec = self.device.shelf
        self.host: str = self.device.host

    def apply_fault(self, fault: Fault, params: dict[str, Any]) -> None:
        if fault.kind == "psu_failed":
            self.required(fault, params, "psu")
            count = self.device.shelf.psus
            if not 1 <= params["psu"] <= count:
                raise ConfigError(
                    f"scenario: fault psu_failed on {self.name}: psu {params['psu']} does not exist "
                    f"({self.name} has {count})"
                )
            self.failed.add(params["psu"])
        elif fault.kind == "firmware":
            self.required(fault, params, "version")
            self.firmware_version = params["version"]

    def reachable(self) -> bool:
        return self.state.host_powered(self.host)

    def fw(self) -> str:
        return self.firmware_version or self.device.expected.firmware or "1.0.0"

    def root_links(self) -> dict[str, str]:
        return {"Chassis": f"{ROOT}/Chassis", "Managers": f"{ROOT}/Managers", "PowerEquipment": EQUIPMENT}

    def firmware(self) -> list[tuple[str, str, str]]:
        return [("Controller", "Power shelf controller firmware", self.fw())]

    def _identity(self) -> tuple[str, str]:
        e = self.device.expected
        return e.model or "POWER-SHELF", e.serial or f"SN-{self.name.upper()}"

    def readings(self) -> dict[str, Any]:
        feeds = sorted(self.state.host_feeds(self.host))
        inputs = [(pdu, idx, physics.feed_watts(self.state, pdu, idx)) for pdu, idx in feeds]
        input_w = sum(w for _, _, w in inputs)
        working = [i for i in range(1, self.spec.psus + 1) if i not in self.failed]
        output_w = input_w * EFFICIENCY if working else 0.0
        volts = self.spec.output_voltage_v + 0.05 if output_w else 0.0
        amps = output_w / volts if volts else 0.0
        volts = max(0.0, volts - 0.0005 * amps)
        return {
            "inputs": inputs,
            "input_w": input_w,
            "output_w": output_w,
            "volts": volts,
            "amps": amps,
            "working": working,
        }

    def health(self) -> str:
        if not self.failed:
            return "OK"
        return "Warning" if len(self.failed) <= self.spec.redundancy else "Critical"

    def tree(self) -> dict[str, Payload]:
        t: dict[str, Payload] = {}
        r = self.readings()
        model, serial = self._identity()
        health = self.health()
        sensors = f"{CHASSIS}/Sensors"
        t[f"{ROOT}/Chassis"] = collection(f"{ROOT}/Chassis", "Chassis", "Chassis Collection", [CHASSIS])
        mgr = manager(
            t, f"{self.name} controller", "ManagementController", f"{model} PMC", f"{serial}-PMC", self.fw(),
            self.uuid, chassis=[CHASSIS],
        )  # fmt: skip
        t[CHASSIS] = odata(
            CHASSIS,
            "Chassis",
            Name=f"{self.host} power shelf",
            ChassisType="Shelf",
            Manufacturer="rackval-sim",
            Model=model,
            SerialNumber=serial,
            PowerState="On",
            Status=status("Enabled", "OK", health),
            Sensors=link(sensors),
            Links={"ManagedBy": [link(mgr)]},
        )
        nominal = self.spec.output_voltage_v
        values = {
            "OutputVoltage": sensor(
                f"{sensors}/OutputVoltage",
                "Voltage",
                r["volts"],
                "V",
                "DCBus",
                nominal * 0.95,
                nominal * 0.9,
                True,
            ),
            "OutputCurrent": sensor(f"{sensors}/OutputCurrent", "Current", r["amps"], "A", "DCBus"),
            "OutputPower": sensor(
                f"{sensors}/OutputPower",
                "Power",
                r["output_w"],
                "W",
                "DCBus",
                0.9 * self.spec.rated_power_w * max(1, len(r["working"])),
                self.spec.rated_power_w * max(1, len(r["working"])),
            ),
            "InputPower": sensor(f"{sensors}/InputPower", "Power", r["input_w"], "W", "ACInput"),
        }
        t[sensors] = collection(
            sensors, "Sensor", "Sensor Collection", [v["@odata.id"] for v in values.values()]
        )
        for v in values.values():
            t[v["@odata.id"]] = v
        t[EQUIPMENT] = odata(
            EQUIPMENT, "PowerEquipment", Name="Power Equipment", Status=status("Enabled", "OK", health),
            PowerShelves=link(SHELVES),
        )  # fmt: skip
        t[SHELVES] = collection(SHELVES, "PowerDistribution", "Power Shelf Collection", [SHELF])
        t[SHELF] = odata(
            SHELF,
            "PowerDistribution",
            Name=f"{self.host} power shelf",
            EquipmentType="PowerShelf",
            Manufacturer="rackval-sim",
            Model=model,
            SerialNumber=serial,
            FirmwareVersion=self.fw(),
            Status=status("Enabled", health, health),
            PowerSupplies=link(f"{SHELF}/PowerSupplies"),
            Mains=link(f"{SHELF}/Mains"),
            Branches=link(f"{SHELF}/Branches"),
            Metrics=link(f"{SHELF}/Metrics"),
            Links={"Chassis": [link(CHASSIS)], "ManagedBy": [link(mgr)]},
        )
        self._psus(t, r, serial)
        self._circuits(t, r, sensors)
        t[f"{SHELF}/Metrics"] = odata(
            f"{SHELF}/Metrics",
            "PowerDistributionMetrics",
            Name="Power shelf metrics",
            PowerWatts=excerpt(r["output_w"], f"{sensors}/OutputPower"),
        )
        return t

    def _psus(self, t: dict[str, Payload], r: dict[str, Any], serial: str) -> None:
        psus = f"{SHELF}/PowerSupplies"
        count = self.spec.psus
        t[psus] = collection(
            psus, "PowerSupply", "Power Supply Collection", [f"{psus}/{i}" for i in range(1, count + 1)]
        )
        fed = r["input_w"] > 0
        share = len(r["working"]) or 1
        for i in range(1, count + 1):
            failed = i in self.failed
            out_w = 0.0 if failed else r["output_w"] / share
            in_w = 0.0 if failed else r["input_w"] / share
            t[f"{psus}/{i}"] = odata(
                f"{psus}/{i}",
                "PowerSupply",
                Name=f"PSU {i}",
                Status=status("Enabled", "Critical" if failed else "OK"),
                PowerSupplyType="AC",
                LineInputStatus="Normal" if fed else "LossOfInput",
                PowerCapacityWatts=self.spec.rated_power_w,
                Manufacturer="rackval-sim",
                Model=f"PSU-{int(self.spec.rated_power_w)}W",
                SerialNumber=f"{serial}-PSU{i}",
                FirmwareVersion="2.4.1",
                Metrics=link(f"{psus}/{i}/Metrics"),
            )
            t[f"{psus}/{i}/Metrics"] = odata(
                f"{psus}/{i}/Metrics",
                "PowerSupplyMetrics",
                Name=f"PSU {i} metrics",
                Status=status("Enabled", "Critical" if failed else "OK"),
                InputVoltage=excerpt(physics.LINE_VOLTS if fed else 0.0),
                InputCurrentAmps=excerpt(in_w / physics.LINE_VOLTS),
                InputPowerWatts=excerpt(in_w),
                OutputPowerWatts=excerpt(out_w),
                RailVoltage=[excerpt(0.0 if failed else r["volts"])],
                RailCurrentAmps=[excerpt(out_w / r["volts"] if r["volts"] else 0.0)],
            )

    def _circuits(self, t: dict[str, Payload], r: dict[str, Any], sensors: str) -> None:
        mains = f"{SHELF}/Mains"
        t[mains] = collection(
            mains, "Circuit", "Mains", [f"{mains}/AC{i}" for i in range(1, len(r["inputs"]) + 1)]
        )
        for i, (pdu, idx, watts) in enumerate(r["inputs"], start=1):
            on = self.state.outlet_on(pdu, idx) and (pdu, idx) not in self.state.dead_outlets
            t[f"{mains}/AC{i}"] = odata(
                f"{mains}/AC{i}",
                "Circuit",
                Name=f"AC input {i} ({pdu}/{idx})",
                CircuitType="Mains",
                NominalVoltage="AC230V",
                PowerState="On" if on else "Off",
                Voltage=excerpt(physics.LINE_VOLTS if on else 0.0),
                CurrentAmps=excerpt(self.state.outlet_current(pdu, idx)),
                PowerWatts=excerpt(watts),
                Status=status("Enabled", "OK" if on else "Warning"),
            )
        branches = f"{SHELF}/Branches"
        t[branches] = collection(branches, "Circuit", "Branches", [f"{branches}/DC1"])
        nominal = "DC48V" if abs(self.spec.output_voltage_v - 48) < 6 else "DC12V"
        t[f"{branches}/DC1"] = odata(
            f"{branches}/DC1",
            "Circuit",
            Name="DC busbar",
            CircuitType="Branch",
            NominalVoltage=nominal,
            PowerState="On" if r["volts"] else "Off",
            Voltage=excerpt(r["volts"], f"{sensors}/OutputVoltage"),
            CurrentAmps=excerpt(r["amps"], f"{sensors}/OutputCurrent"),
            PowerWatts=excerpt(r["output_w"], f"{sensors}/OutputPower"),
            Status=status("Enabled", worst(self.health(), "OK")),
        )

    def sim_state(self) -> dict[str, Any]:
        r = self.readings()
        return {
            "output_w": round(r["output_w"], 1),
            "volts": round(r["volts"], 2),
            "failed": sorted(self.failed),
        }


def start(ctx: SimContext, name: str) -> SimHandle:
    """Start the simulated power shelf controller ``name`` (entry point ``redfish-power-shelf``)."""
    return PowerShelfService(ctx, name).start()
