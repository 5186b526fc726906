"""A coolant distribution unit: ThermalEquipment/CDUs/1 (CoolingUnit) with pumps, loops and leak detection.

The heat the CDU removes is the electrical draw of the running hosts it
``cools`` (:func:`simulators.redfish.physics.heat_load_w`): the secondary
(rack) loop's flow rises with it (pumps speed up), its supply is held at
:data:`SECONDARY_SUPPLY_C` and its return is ``supply + P / (rho c flow)``; the
primary (facility) side carries the same heat at its own flow. Readings are
Sensors of ``Chassis/1``, excerpted into the coolant connectors.

Faults: ``leak {detector}``, ``low_flow {lpm}`` (the secondary flow; the return
temperature rises to match), ``high_return_temp {celsius}``, ``firmware
{version}``, and the common ones of :mod:`simulators.redfish.service`.
"""

from __future__ import annotations

import numbers
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

EQUIPMENT = f"{ROOT}/ThermalEquipment"
CDUS = f"{EQUIPMENT}/CDUs"
CDU = f"{CDUS}/1"
CHASSIS = f"{ROOT}/Chassis/1"
SECONDARY_SUPPLY_C = 30.0
PRIMARY_SUPPLY_C = 24.0
PRIMARY_FLOW_LPM = 60.0
CAPACITY_W = 100_000
RETURN_CAUTION_C, RETURN_CRITICAL_C = 45.0, 50.0
LOW_FLOW_FRACTION = 0.5  # below this share of the expected flow, the flow sensor reads Warning


class CduService(RedfishService):
    driver = "redfish-cdu"
    kind = "cdu"
    product = "rackval simulated coolant distribution unit"
    kind_faults = {
        "leak": {"detector": int},
        "low_flow": {"lpm": numbers.Real},
        "high_return_temp": {"celsius": numbers.Real},
        "firmware": {"version": str},
    }

    def __init__(self, ctx: SimContext, name: str) -> None:
        self.leaks: set[int] = set()
        self.low_flow: float | None = None
        self.high_return: float | None = None
        self.firmware_version: str | None = None
        super().__init__(ctx, name)
        self.spec = self.device.cdu

    def apply_fault(self, fault: Fault, params: dict[str, Any]) -> None:
        if fault.kind == "leak":
            self.required(fault, params, "detector")
            count = self.device.cdu.leak_detectors
            if not 1 <= params["detector"] <= count:
                raise ConfigError(
                    f"scenario: fault leak on {self.name}: detector {params['detector']} does not exist "
                    f"({self.name} has {count})"
                )
            self.leaks.add(params["detector"])
        elif fault.kind == "low_flow":
            self.required(fault, params, "lpm")
            if params["lpm"] < 0:
                raise ConfigError(f"scenario: fault low_flow on {self.name}: lpm must be >= 0")
            self.low_flow = float(params["lpm"])
        elif fault.kind == "high_return_temp":
            self.required(fault, params, "celsius")
            self.high_return = float(params["celsius"])
        elif fault.kind == "firmware":
            self.required(fault, params, "version")
            self.firmware_version = params["version"]

    def reachable(self) -> bool:
        host = self.device.host
        return host is None or self.state.host_powered(host)

    def fw(self) -> str:
        return self.firmware_version or self.device.expected.firmware or "1.0.0"

    def root_links(self) -> dict[str, str]:
        return {"Chassis": f"{ROOT}/Chassis", "Managers": f"{ROOT}/Managers", "ThermalEquipment": EQUIPMENT}

    def firmware(self) -> list[tuple[str, str, str]]:
        return [("Controller", "CDU controller firmware", self.fw())]

    def _identity(self) -> tuple[str, str]:
        e = self.device.expected
        return e.model or "CDU", e.serial or f"SN-{self.name.upper()}"

    def readings(self) -> dict[str, float]:
        coolant = self.spec.coolant
        load = physics.heat_load_w(self.state, list(self.device.cools))
        expected_flow = physics.secondary_flow_lpm(load)
        flow = expected_flow if self.low_flow is None else self.low_flow
        ret = (
            SECONDARY_SUPPLY_C + physics.delta_t(load, flow, coolant) if flow > 0 else SECONDARY_SUPPLY_C + 40
        )
        if self.high_return is not None:
            ret = self.high_return
        p_ret = PRIMARY_SUPPLY_C + physics.delta_t(load, PRIMARY_FLOW_LPM, "water")
        dp = 30.0 + 0.02 * flow * flow
        return {
            "load_w": load,
            "expected_flow": expected_flow,
            "flow": flow,
            "supply": SECONDARY_SUPPLY_C,
            "return": ret,
            "dp": dp,
            "supply_kpa": 180.0 + dp / 2,
            "return_kpa": 180.0 - dp / 2,
            "p_flow": PRIMARY_FLOW_LPM,
            "p_supply": PRIMARY_SUPPLY_C,
            "p_return": p_ret,
            "pump_pct": min(100.0, 25.0 + 70.0 * load / CAPACITY_W) if flow > 0 else 0.0,
        }

    def tree(self) -> dict[str, Payload]:
        t: dict[str, Payload] = {}
        r = self.readings()
        model, serial = self._identity()
        sensors = f"{CHASSIS}/Sensors"
        flow_caution = LOW_FLOW_FRACTION * r["expected_flow"]
        values = {
            "SecondaryFlow": sensor(
                f"{sensors}/SecondaryFlow",
                "LiquidFlow",
                r["flow"],
                "L/min",
                "LiquidInlet",
                flow_caution,
                None,
                True,
            ),
            "SecondarySupplyTemp": sensor(
                f"{sensors}/SecondarySupplyTemp", "Temperature", r["supply"], "Cel", "LiquidOutlet"
            ),
            "SecondaryReturnTemp": sensor(
                f"{sensors}/SecondaryReturnTemp",
                "Temperature",
                r["return"],
                "Cel",
                "LiquidInlet",
                RETURN_CAUTION_C,
                RETURN_CRITICAL_C,
            ),
            "SecondaryDeltaTemp": sensor(
                f"{sensors}/SecondaryDeltaTemp",
                "Temperature",
                r["return"] - r["supply"],
                "Cel",
                "CoolingSubsystem",
            ),
            "SecondarySupplyPressure": sensor(
                f"{sensors}/SecondarySupplyPressure", "Pressure", r["supply_kpa"], "kPa", "LiquidOutlet"
            ),
            "SecondaryReturnPressure": sensor(
                f"{sensors}/SecondaryReturnPressure", "Pressure", r["return_kpa"], "kPa", "LiquidInlet"
            ),
            "SecondaryDeltaPressure": sensor(
                f"{sensors}/SecondaryDeltaPressure", "Pressure", r["dp"], "kPa", "CoolingSubsystem"
            ),
            "HeatLoad": sensor(f"{sensors}/HeatLoad", "Heat", r["load_w"] / 1000.0, "kW", "CoolingSubsystem"),
            "PrimaryFlow": sensor(
                f"{sensors}/PrimaryFlow", "LiquidFlow", r["p_flow"], "L/min", "LiquidInlet"
            ),
            "PrimarySupplyTemp": sensor(
                f"{sensors}/PrimarySupplyTemp", "Temperature", r["p_supply"], "Cel", "LiquidInlet"
            ),
            "PrimaryReturnTemp": sensor(
                f"{sensors}/PrimaryReturnTemp", "Temperature", r["p_return"], "Cel", "LiquidOutlet"
            ),
        }
        t[sensors] = collection(
            sensors, "Sensor", "Sensor Collection", [v["@odata.id"] for v in values.values()]
        )
        for v in values.values():
            t[v["@odata.id"]] = v
        leak_health = "Critical" if self.leaks else "OK"
        flow_health = values["SecondaryFlow"]["Status"]["Health"]
        temp_health = values["SecondaryReturnTemp"]["Status"]["Health"]
        health = worst(leak_health, flow_health, temp_health)
        t[f"{ROOT}/Chassis"] = collection(f"{ROOT}/Chassis", "Chassis", "Chassis Collection", [CHASSIS])
        mgr = manager(
            t, f"{self.name} controller", "ManagementController", f"{model} controller", f"{serial}-CTL",
            self.fw(), self.uuid, chassis=[CHASSIS],
        )  # fmt: skip
        t[CHASSIS] = odata(
            CHASSIS,
            "Chassis",
            Name=f"{self.name} enclosure",
            ChassisType="StandAlone",
            Manufacturer="rackval-sim",
            Model=model,
            SerialNumber=serial,
            PowerState="On",
            Status=status("Enabled", "OK", health),
            Sensors=link(sensors),
            Links={"ManagedBy": [link(mgr)]},
        )
        t[EQUIPMENT] = odata(
            EQUIPMENT, "ThermalEquipment", Name="Thermal Equipment", Status=status("Enabled", "OK", health),
            CDUs=link(CDUS),
        )  # fmt: skip
        t[CDUS] = collection(CDUS, "CoolingUnit", "Coolant Distribution Unit Collection", [CDU])
        t[CDU] = odata(
            CDU,
            "CoolingUnit",
            Name=f"{self.name} coolant distribution unit",
            EquipmentType="CDU",
            Manufacturer="rackval-sim",
            Model=model,
            SerialNumber=serial,
            FirmwareVersion=self.fw(),
            CoolingCapacityWatts=CAPACITY_W,
            Status=status("Enabled", worst(flow_health, temp_health), health),
            Pumps=link(f"{CDU}/Pumps"),
            PrimaryCoolantConnectors=link(f"{CDU}/PrimaryCoolantConnectors"),
            SecondaryCoolantConnectors=link(f"{CDU}/SecondaryCoolantConnectors"),
            LeakDetection=link(f"{CDU}/LeakDetection"),
            Links={"Chassis": [link(CHASSIS)], "ManagedBy": [link(mgr)]},
        )
        pumps = f"{CDU}/Pumps"
        t[pumps] = collection(
            pumps, "Pump", "Pump Collection", [f"{pumps}/{i}" for i in range(1, self.spec.pumps + 1)]
        )
        for i in range(1, self.spec.pumps + 1):
            t[f"{pumps}/{i}"] = odata(
                f"{pumps}/{i}",
                "Pump",
                Name=f"Secondary pump {i}",
                PumpType="Liquid",
                Status=status("Enabled", flow_health),
                PumpSpeedPercent={
                    "Reading": round(r["pump_pct"], 1),
                    "SpeedRPM": round(r["pump_pct"] * 45, 0),
                },
                ServiceHours=1344.0,
            )
        self._connectors(t, r, values, sensors)
        self._leaks(t)
        return t

    def _connectors(
        self, t: dict[str, Payload], r: dict[str, float], values: dict[str, Payload], s: str
    ) -> None:
        for side in ("Primary", "Secondary"):
            path = f"{CDU}/{side}CoolantConnectors"
            t[path] = collection(path, "CoolantConnector", f"{side} Coolant Connectors", [f"{path}/1"])
            body = odata(
                f"{path}/1",
                "CoolantConnector",
                Name=f"{side} side connector 1",
                CoolantConnectorType="Pair",
            )
            if side == "Primary":
                body.update(
                    Status=status(),
                    RatedFlowLitersPerMinute=PRIMARY_FLOW_LPM * 1.5,
                    FlowLitersPerMinute=excerpt(r["p_flow"], f"{s}/PrimaryFlow"),
                    SupplyTemperatureCelsius=excerpt(r["p_supply"], f"{s}/PrimarySupplyTemp"),
                    ReturnTemperatureCelsius=excerpt(r["p_return"], f"{s}/PrimaryReturnTemp"),
                    DeltaTemperatureCelsius=excerpt(r["p_return"] - r["p_supply"]),
                    HeatRemovedkW=excerpt(r["load_w"] / 1000.0, f"{s}/HeatLoad"),
                )
            else:
                health = worst(
                    values["SecondaryFlow"]["Status"]["Health"],
                    values["SecondaryReturnTemp"]["Status"]["Health"],
                )
                body.update(
                    Status=status("Enabled", health),
                    RatedFlowLitersPerMinute=physics.secondary_flow_lpm(CAPACITY_W),
                    FlowLitersPerMinute=excerpt(r["flow"], f"{s}/SecondaryFlow"),
                    SupplyTemperatureCelsius=excerpt(r["supply"], f"{s}/SecondarySupplyTemp"),
                    ReturnTemperatureCelsius=excerpt(r["return"], f"{s}/SecondaryReturnTemp"),
                    DeltaTemperatureCelsius=excerpt(r["return"] - r["supply"], f"{s}/SecondaryDeltaTemp"),
                    SupplyPressurekPa=excerpt(r["supply_kpa"], f"{s}/SecondarySupplyPressure"),
                    ReturnPressurekPa=excerpt(r["return_kpa"], f"{s}/SecondaryReturnPressure"),
                    DeltaPressurekPa=excerpt(r["dp"], f"{s}/SecondaryDeltaPressure"),
                    HeatRemovedkW=excerpt(r["load_w"] / 1000.0, f"{s}/HeatLoad"),
                )
            t[f"{path}/1"] = body

    def _leaks(self, t: dict[str, Payload]) -> None:
        leak = f"{CDU}/LeakDetection"
        health = "Critical" if self.leaks else "OK"
        t[leak] = odata(
            leak, "LeakDetection", Name="Leak Detection", Status=status("Enabled", health),
            LeakDetectors=link(f"{leak}/LeakDetectors"),
        )  # fmt: skip
        detectors = f"{leak}/LeakDetectors"
        count = self.spec.leak_detectors
        t[detectors] = collection(
            detectors,
            "LeakDetector",
            "Leak Detector Collection",
            [f"{detectors}/{i}" for i in range(1, count + 1)],
        )
        for i in range(1, count + 1):
            state = "Critical" if i in self.leaks else "OK"
            t[f"{detectors}/{i}"] = odata(
                f"{detectors}/{i}",
                "LeakDetector",
                Name=f"Leak detector {i}",
                DetectorState=state,
                LeakDetectorType="Moisture",
                PhysicalContext="CoolingSubsystem",
                Status=status("Enabled", state),
            )

    def sim_state(self) -> dict[str, Any]:
        r = self.readings()
        return {k: round(v, 2) for k, v in r.items()}


def start(ctx: SimContext, name: str) -> SimHandle:
    """Start the simulated CDU ``name`` (entry point ``redfish-cdu``)."""
    return CduService(ctx, name).start()
