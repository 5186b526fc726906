"""A compute tray's BMC: ComputerSystem, Chassis, Manager and firmware inventory from the rack file.

The tray serves ``Systems/1`` (CPUs, GPUs, DIMMs and NICs from ``inventory``),
``Chassis/1`` (sensors, thermal and power subsystems, leak detection),
``Managers/1`` and the firmware inventory, with model, serial and versions from
``expected`` and ``inventory`` so that a nominal run passes.

Tied to the shared physical model: the BMC runs on its host's standby power, so
while no outlet feeds the host it is unreachable (connections are closed);
``ComputerSystem.Reset`` switches the host's system off (its outlets then draw
standby current and its switch links go down) or on (``PoweringOn`` for
:data:`POWER_ON_DELAY_S`, then ``On``).

Faults: ``missing_gpu {gpu}``, ``firmware {component, version[, index]}``,
``leak {detector}``, ``never_powers_on``, and the common ones of
:mod:`simulators.redfish.service`.
"""

from __future__ import annotations

import threading
from typing import Any

from rackval.errors import ConfigError
from simulators.base import SimContext, SimHandle
from simulators.redfish import physics
from simulators.redfish.messages import error_body
from simulators.redfish.service import (
    ROOT,
    Payload,
    RedfishService,
    Reply,
    collection,
    excerpt,
    link,
    odata,
    status,
)
from simulators.scenario import Fault

POWER_ON_DELAY_S = 0.5
RESET_TYPES = ["On", "ForceOff", "GracefulShutdown", "ForceRestart"]
LEAK_DETECTORS = 2
PSU_WATTS = 3000.0
SYSTEM = f"{ROOT}/Systems/1"
CHASSIS = f"{ROOT}/Chassis/1"
MANAGER = f"{ROOT}/Managers/1"
RESET = f"{SYSTEM}/Actions/ComputerSystem.Reset"


class BmcService(RedfishService):
    driver = "redfish-bmc"
    kind = "bmc"
    product = "rackval simulated compute tray BMC"
    kind_faults = {
        "missing_gpu": {"gpu": int},
        "firmware": {"component": str, "version": str, "index": int},
        "leak": {"detector": int},
        "never_powers_on": {},
    }

    def __init__(self, ctx: SimContext, name: str) -> None:
        device = ctx.rack.devices.get(name)
        inventory = getattr(device, "inventory", None)
        self.missing_gpus: set[int] = set()
        self.leaks: set[int] = set()
        self.never_powers_on = False
        self.fw_override: dict[tuple[str, int | None], str] = {}
        self.inventory = inventory
        super().__init__(ctx, name)
        self.host: str = self.device.host
        self.transition: str | None = None
        self._timer: threading.Timer | None = None
        self.resets: list[str] = []

    # -- faults --------------------------------------------------------------------
    def apply_fault(self, fault: Fault, params: dict[str, Any]) -> None:
        inv = self.inventory
        if fault.kind == "missing_gpu":
            self.required(fault, params, "gpu")
            if not 1 <= params["gpu"] <= inv.gpus:
                raise ConfigError(
                    f"scenario: fault missing_gpu on {self.name}: gpu {params['gpu']} does not exist "
                    f"({self.name} has {inv.gpus})"
                )
            self.missing_gpus.add(params["gpu"])
        elif fault.kind == "firmware":
            self.required(fault, params, "component", "version")
            component = params["component"]
            if component not in ("bmc", "bios", "gpu", "nic"):
                raise ConfigError(
                    f"scenario: fault firmware on {self.name}: component must be bmc, bios, gpu or nic"
                )
            self.fw_override[(component, params.get("index"))] = params["version"]
        elif fault.kind == "leak":
            self.required(fault, params, "detector")
            if not 1 <= params["detector"] <= LEAK_DETECTORS:
                raise ConfigError(
                    f"scenario: fault leak on {self.name}: detector {params['detector']} does not exist "
                    f"({self.name} has {LEAK_DETECTORS})"
                )
            self.leaks.add(params["detector"])
        elif fault.kind == "never_powers_on":
            self.never_powers_on = True

    def fw(self, component: str, index: int | None = None) -> str:
        for key in ((component, index), (component, None)):
            if key in self.fw_override:
                return self.fw_override[key]
        version = getattr(self.inventory.firmware, component)
        if version is None and component == "bmc":
            version = self.device.expected.firmware
        return version or "1.0.0"

    # -- power -----------------------------------------------------------------------
    def reachable(self) -> bool:
        return self.state.host_powered(self.host)

    def power_state(self) -> str:
        with self.lock:
            if self.transition:
                return self.transition
        return "On" if self.state.system_on(self.host) else "Off"

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _power_on(self) -> None:
        with self.lock:
            self._cancel_timer()
            if self.state.system_on(self.host) and self.transition is None:
                return
            self.transition = "PoweringOn"
            if self.never_powers_on:
                return

            def done() -> None:
                with self.lock:
                    if self.transition == "PoweringOn":
                        self.state.set_system(self.host, True)
                        self.transition = None

            self._timer = threading.Timer(POWER_ON_DELAY_S, done)
            self._timer.daemon = True
            self._timer.start()

    def _power_off(self) -> None:
        with self.lock:
            self._cancel_timer()
            self.transition = None
            self.state.set_system(self.host, False)

    def _reset(self, body: Payload) -> Reply:
        reset_type = body.get("ResetType")
        if reset_type is None:
            return Reply(400, error_body("ActionParameterMissing", "ComputerSystem.Reset", "ResetType"))
        if reset_type not in RESET_TYPES:
            return Reply(
                400,
                error_body("ActionParameterValueNotInList", reset_type, "ResetType", "ComputerSystem.Reset"),
            )
        self.resets.append(reset_type)
        if reset_type == "On":
            self._power_on()
        elif reset_type in ("ForceOff", "GracefulShutdown"):
            self._power_off()
        else:  # ForceRestart
            self._power_off()
            self._power_on()
        return Reply(204)

    def actions(self) -> dict[str, Any]:
        return {RESET: self._reset}

    # -- the tree ----------------------------------------------------------------------
    def root_links(self) -> dict[str, str]:
        return {"Systems": f"{ROOT}/Systems", "Chassis": f"{ROOT}/Chassis", "Managers": f"{ROOT}/Managers"}

    def gpus(self) -> list[int]:
        return [i for i in range(1, self.inventory.gpus + 1) if i not in self.missing_gpus]

    def firmware(self) -> list[tuple[str, str, str]]:
        items = [("BMC", "BMC Firmware", self.fw("bmc")), ("BIOS", "System BIOS", self.fw("bios"))]
        items += [(f"GPU{i}", f"GPU {i} Firmware", self.fw("gpu", i)) for i in self.gpus()]
        items += [
            (f"NIC{i}", f"NIC {i} Firmware", self.fw("nic", i)) for i in range(1, self.inventory.nics + 1)
        ]
        return items

    def tree(self) -> dict[str, Payload]:
        t: dict[str, Payload] = {}
        self._system(t)
        self._chassis(t)
        self._manager(t)
        return t

    def _identity(self) -> tuple[str, str]:
        expected = self.device.expected
        return expected.model or "GPU-NODE", expected.serial or f"SN-{self.name.upper()}"

    def _system(self, t: dict[str, Payload]) -> None:
        inv = self.inventory
        model, serial = self._identity()
        power = self.power_state()
        running = power == "On"
        health = "OK" if not self.leaks else "Critical"
        t[f"{ROOT}/Systems"] = collection(
            f"{ROOT}/Systems", "ComputerSystem", "Computer System Collection", [SYSTEM]
        )
        t[SYSTEM] = odata(
            SYSTEM,
            "ComputerSystem",
            Name=f"{self.host} system",
            SystemType="Physical",
            Manufacturer="rackval-sim",
            Model=model,
            SerialNumber=serial,
            UUID=self.uuid,
            PowerState=power,
            BiosVersion=self.fw("bios"),
            Status=status("Enabled" if running else "StandbyOffline", "OK", health),
            ProcessorSummary={"Count": inv.cpus, "Model": inv.cpu_model or "x86-64 CPU"},
            MemorySummary={"TotalSystemMemoryGiB": inv.memory_gib},
            Processors=link(f"{SYSTEM}/Processors"),
            Memory=link(f"{SYSTEM}/Memory"),
            EthernetInterfaces=link(f"{SYSTEM}/EthernetInterfaces"),
            Links={"Chassis": [link(CHASSIS)], "ManagedBy": [link(MANAGER)]},
            Actions={
                "#ComputerSystem.Reset": {
                    "target": RESET,
                    "ResetType@Redfish.AllowableValues": RESET_TYPES,
                }
            },
        )
        procs = f"{SYSTEM}/Processors"
        members = [f"{procs}/CPU{i}" for i in range(1, inv.cpus + 1)] + [
            f"{procs}/GPU{i}" for i in self.gpus()
        ]
        t[procs] = collection(procs, "Processor", "Processor Collection", members)
        for i in range(1, inv.cpus + 1):
            t[f"{procs}/CPU{i}"] = odata(
                f"{procs}/CPU{i}",
                "Processor",
                Name=f"CPU {i}",
                ProcessorType="CPU",
                ProcessorArchitecture="x86",
                Socket=f"CPU{i}",
                Manufacturer="Intel(R) Corporation" if "Intel" in (inv.cpu_model or "") else "rackval-sim",
                Model=inv.cpu_model or "x86-64 CPU",
                SerialNumber=f"{serial}-CPU{i}",
                TotalCores=56,
                TotalThreads=112,
                MaxSpeedMHz=3800,
                Status=status("Enabled" if running else "StandbyOffline"),
            )
        gpu_model = inv.gpu_model or "GPU"
        for i in self.gpus():
            t[f"{procs}/GPU{i}"] = odata(
                f"{procs}/GPU{i}",
                "Processor",
                Name=f"GPU {i}",
                ProcessorType="GPU",
                Socket=f"GPU{i}",
                Manufacturer=gpu_model.split()[0],
                Model=gpu_model,
                SerialNumber=f"{serial}-GPU{i}",
                FirmwareVersion=self.fw("gpu", i),
                Status=status("Enabled" if running else "StandbyOffline"),
            )
        mem = f"{SYSTEM}/Memory"
        dimms = next((n for n in (32, 16, 8, 4, 2) if inv.memory_gib % n == 0), 1)
        t[mem] = collection(
            mem, "Memory", "Memory Collection", [f"{mem}/DIMM{i}" for i in range(1, dimms + 1)]
        )
        for i in range(1, dimms + 1):
            t[f"{mem}/DIMM{i}"] = odata(
                f"{mem}/DIMM{i}",
                "Memory",
                Name=f"DIMM {i}",
                MemoryType="DRAM",
                MemoryDeviceType="DDR5",
                CapacityMiB=inv.memory_gib * 1024 // dimms,
                Manufacturer="rackval-sim",
                SerialNumber=f"{serial}-DIMM{i}",
                OperatingSpeedMhz=4800,
                Status=status("Enabled" if running else "StandbyOffline"),
            )
        nics = f"{SYSTEM}/EthernetInterfaces"
        ports = self._nic_ports()
        t[nics] = collection(
            nics, "EthernetInterface", "Ethernet Interface Collection", [f"{nics}/{p}" for p, _ in ports]
        )
        for i, (port, speed) in enumerate(ports):
            t[f"{nics}/{port}"] = odata(
                f"{nics}/{port}",
                "EthernetInterface",
                Name=f"Ethernet interface {port}",
                MACAddress=self._mac(i),
                SpeedMbps=speed,
                LinkStatus="LinkUp" if self.state.host_running(self.host) else "LinkDown",
                InterfaceEnabled=True,
                Status=status("Enabled" if running else "StandbyOffline"),
            )

    def _nic_ports(self) -> list[tuple[str, int]]:
        """The host's cabled ports (name, speed in Mbit/s), padded to ``inventory.nics``."""
        ports: dict[str, int] = {}
        for cable in self.ctx.rack.cabling:
            for end in (cable.a, cable.b):
                host, _, port = end.partition("/")
                if host == self.host:
                    ports[port] = int(str(cable.speed).rstrip("G")) * 1000
        names = sorted(ports)
        i = 0
        while len(names) < self.inventory.nics:
            if f"eth{i}" not in ports:
                names.append(f"eth{i}")
                ports[f"eth{i}"] = 100000
            i += 1
        return [(n, ports[n]) for n in names]

    def _mac(self, index: int) -> str:
        h = sum(self.name.encode()) & 0xFF
        return f"7C:FE:90:{h:02X}:{index >> 8 & 0xFF:02X}:{index & 0xFF:02X}"

    def _chassis(self, t: dict[str, Payload]) -> None:
        model, serial = self._identity()
        power = self.power_state()
        running = power == "On"
        leak_health = "Critical" if self.leaks else "OK"
        t[f"{ROOT}/Chassis"] = collection(f"{ROOT}/Chassis", "Chassis", "Chassis Collection", [CHASSIS])
        t[CHASSIS] = odata(
            CHASSIS,
            "Chassis",
            Name=f"{self.host} chassis",
            ChassisType="RackMount",
            Manufacturer="rackval-sim",
            Model=model,
            SerialNumber=serial,
            PowerState=power,
            Status=status("Enabled", "OK", leak_health),
            Sensors=link(f"{CHASSIS}/Sensors"),
            ThermalSubsystem=link(f"{CHASSIS}/ThermalSubsystem"),
            PowerSubsystem=link(f"{CHASSIS}/PowerSubsystem"),
            Links={"ComputerSystems": [link(SYSTEM)], "ManagedBy": [link(MANAGER)]},
        )
        sensors = f"{CHASSIS}/Sensors"
        readings: dict[str, tuple[str, float, str, str, tuple[float, float] | None]] = {
            "InletTemp": ("Temperature", 24.0, "Cel", "Intake", (35.0, 45.0)),
            "ExhaustTemp": ("Temperature", 38.0 if running else 26.0, "Cel", "Exhaust", (60.0, 70.0)),
        }
        for i in range(1, self.inventory.cpus + 1):
            readings[f"CPU{i}Temp"] = (
                "Temperature",
                58.0 + i if running else 28.0,
                "Cel",
                "CPU",
                (90.0, 100.0),
            )
        for i in self.gpus():
            readings[f"GPU{i}Temp"] = (
                "Temperature",
                46.0 + i / 2 if running else 27.0,
                "Cel",
                "GPU",
                (85.0, 95.0),
            )
        readings["TotalPower"] = ("Power", physics.host_watts(self.state, self.host), "W", "Chassis", None)
        t[sensors] = collection(sensors, "Sensor", "Sensor Collection", [f"{sensors}/{s}" for s in readings])
        for sensor_id, (rtype, value, units, context, limits) in readings.items():
            body = odata(
                f"{sensors}/{sensor_id}",
                "Sensor",
                Name=sensor_id,
                Reading=round(value, 2),
                ReadingUnits=units,
                ReadingType=rtype,
                PhysicalContext=context,
                Status=status(),
            )
            if limits:
                body["Thresholds"] = {
                    "UpperCaution": {"Reading": limits[0]},
                    "UpperCritical": {"Reading": limits[1]},
                }
            t[f"{sensors}/{sensor_id}"] = body
        thermal = f"{CHASSIS}/ThermalSubsystem"
        t[thermal] = odata(
            thermal,
            "ThermalSubsystem",
            Name="Thermal Subsystem",
            Status=status("Enabled", "OK", leak_health),
            Fans=link(f"{thermal}/Fans"),
            ThermalMetrics=link(f"{thermal}/ThermalMetrics"),
            LeakDetection=link(f"{thermal}/LeakDetection"),
        )
        t[f"{thermal}/ThermalMetrics"] = odata(
            f"{thermal}/ThermalMetrics",
            "ThermalMetrics",
            Name="Thermal Metrics",
            TemperatureSummaryCelsius={
                "Intake": excerpt(readings["InletTemp"][1], f"{sensors}/InletTemp"),
                "Exhaust": excerpt(readings["ExhaustTemp"][1], f"{sensors}/ExhaustTemp"),
            },
        )
        fans = f"{thermal}/Fans"
        t[fans] = collection(fans, "Fan", "Fan Collection", [f"{fans}/{i}" for i in range(1, 5)])
        for i in range(1, 5):
            t[f"{fans}/{i}"] = odata(
                f"{fans}/{i}",
                "Fan",
                Name=f"Fan {i}",
                Status=status(),
                SpeedPercent={
                    "Reading": 55.0 if running else 20.0,
                    "SpeedRPM": 9000.0 if running else 3300.0,
                },
            )
        leak = f"{thermal}/LeakDetection"
        t[leak] = odata(
            leak,
            "LeakDetection",
            Name="Leak Detection",
            Status=status("Enabled", leak_health),
            LeakDetectors=link(f"{leak}/LeakDetectors"),
        )
        detectors = f"{leak}/LeakDetectors"
        t[detectors] = collection(
            detectors,
            "LeakDetector",
            "Leak Detector Collection",
            [f"{detectors}/{i}" for i in range(1, LEAK_DETECTORS + 1)],
        )
        for i in range(1, LEAK_DETECTORS + 1):
            state = "Critical" if i in self.leaks else "OK"
            t[f"{detectors}/{i}"] = odata(
                f"{detectors}/{i}",
                "LeakDetector",
                Name=f"Cold plate leak detector {i}",
                DetectorState=state,
                LeakDetectorType="Moisture",
                PhysicalContext="CoolingSubsystem",
                Status=status("Enabled", state),
            )
        self._power(t)

    def _power(self, t: dict[str, Payload]) -> None:
        power = f"{CHASSIS}/PowerSubsystem"
        feeds = sorted(self.state.host_feeds(self.host))
        t[power] = odata(
            power,
            "PowerSubsystem",
            Name="Power Subsystem",
            Status=status(),
            CapacityWatts=PSU_WATTS * max(1, len(feeds)),
            PowerSupplies=link(f"{power}/PowerSupplies"),
        )
        psus = f"{power}/PowerSupplies"
        t[psus] = collection(
            psus, "PowerSupply", "Power Supply Collection", [f"{psus}/{i}" for i in range(1, len(feeds) + 1)]
        )
        _, serial = self._identity()
        for i, (pdu, index) in enumerate(feeds, start=1):
            fed = self.state.outlet_on(pdu, index) and (pdu, index) not in self.state.dead_outlets
            watts = physics.feed_watts(self.state, pdu, index)
            amps = self.state.outlet_current(pdu, index)
            t[f"{psus}/{i}"] = odata(
                f"{psus}/{i}",
                "PowerSupply",
                Name=f"PSU {i} ({pdu}/{index})",
                Status=status("Enabled", "OK") if fed else status("UnavailableOffline", "Critical"),
                PowerSupplyType="AC",
                LineInputStatus="Normal" if fed else "LossOfInput",
                PowerCapacityWatts=PSU_WATTS,
                Manufacturer="rackval-sim",
                Model="CRPS-3000",
                SerialNumber=f"{serial}-PSU{i}",
                FirmwareVersion="1.2.0",
                Metrics=link(f"{psus}/{i}/Metrics"),
            )
            t[f"{psus}/{i}/Metrics"] = odata(
                f"{psus}/{i}/Metrics",
                "PowerSupplyMetrics",
                Name=f"PSU {i} Metrics",
                Status=status(),
                InputVoltage=excerpt(physics.LINE_VOLTS if fed else 0.0),
                InputCurrentAmps=excerpt(amps),
                InputPowerWatts=excerpt(watts),
                OutputPowerWatts=excerpt(watts * 0.94),
                RailVoltage=[excerpt(12.0 if fed else 0.0)],
                RailCurrentAmps=[excerpt(watts * 0.94 / 12.0)],
            )

    def _manager(self, t: dict[str, Payload]) -> None:
        model, serial = self._identity()
        t[f"{ROOT}/Managers"] = collection(f"{ROOT}/Managers", "Manager", "Manager Collection", [MANAGER])
        t[MANAGER] = odata(
            MANAGER,
            "Manager",
            Name=f"{self.name} BMC",
            ManagerType="BMC",
            Manufacturer="rackval-sim",
            Model=f"{model} BMC",
            SerialNumber=f"{serial}-BMC",
            FirmwareVersion=self.fw("bmc"),
            UUID=self.uuid,
            PowerState="On",
            Status=status(),
            Links={"ManagerForServers": [link(SYSTEM)], "ManagerForChassis": [link(CHASSIS)]},
        )

    def sim_state(self) -> dict[str, Any]:
        return {"power": self.power_state(), "resets": list(self.resets), "reachable": self.reachable()}

    def stop(self) -> None:
        with self.lock:
            self._cancel_timer()
        super().stop()


def start(ctx: SimContext, name: str) -> SimHandle:
    """Start the simulated BMC ``name`` (entry point ``redfish-bmc``)."""
    return BmcService(ctx, name).start()
