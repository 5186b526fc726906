"""The Redfish types the simulator serves, described for its CSDL documents.

Names of types, properties and enumeration members are those of DMTF's
Redfish schema (DSP8010); each schema lists only the properties this simulator
puts in its payloads, so the Redfish-Service-Validator checks the payloads
against a schema that is exact for them (unknown or mistyped properties fail).
The ``@odata.type`` of every payload comes from here (:func:`odata_type`).
"""

from __future__ import annotations

from simulators.redfish.csdl import Action, Enum, Prop, Schema, Type

STR, INT, DEC, BOOL = "Edm.String", "Edm.Int64", "Edm.Decimal", "Edm.Boolean"
STATUS = Prop("Status", "Resource.Status")


def p(name: str, type_: str = STR, **kw) -> Prop:
    return Prop(name, type_, **kw)


def nav(name: str, type_: str, **kw) -> Prop:
    return Prop(name, type_, nav=True, nullable=False, **kw)


def _resource(
    name: str,
    version: str,
    props: list[Prop],
    uris: list[str],
    complex_types: list[Type] = (),  # type: ignore[assignment]
    enums: list[Enum] = (),  # type: ignore[assignment]
    actions: list[Action] = (),  # type: ignore[assignment]
    updatable: bool = False,
    deletable: bool = False,
    shared_enums: list[Enum] = (),  # type: ignore[assignment]
) -> Schema:
    ns = f"{name}.{version}"
    versioned: list[Type | Enum] = [
        Type(name, tuple(props), base=f"{name}.{name}", entity=True, uris=tuple(uris)),
        *complex_types,
        *enums,
    ]
    if actions or any(pr.name == "Actions" for pr in props):
        versioned += [Type("Actions", (p("Oem", f"{ns}.OemActions"),)), Type("OemActions", abstract=True)]
    unversioned: list[Type | Enum | Action] = [
        Type(
            name,
            base="Resource.v1_0_0.Resource",
            entity=True,
            abstract=True,
            insertable=False,
            updatable=updatable,
            deletable=deletable,
        ),
        *shared_enums,
        *actions,
    ]
    return Schema(name, version, unversioned, versioned)


def _collection(member: str, uris: list[str], insertable: bool = False) -> Schema:
    name = f"{member}Collection"
    return Schema(
        name,
        None,
        [
            Type(
                name,
                (nav("Members", f"Collection({member}.{member})", required=True),),
                base="Resource.v1_0_0.ResourceCollection",
                entity=True,
                uris=tuple(uris),
                insertable=insertable,
                updatable=False,
                deletable=False,
            )
        ],
    )


def _links(ns: str, props: list[Prop]) -> Type:
    return Type("Links", tuple(props), base="Resource.Links")


SYS = "/redfish/v1/Systems/{ComputerSystemId}"
CH = "/redfish/v1/Chassis/{ChassisId}"
CDU = "/redfish/v1/ThermalEquipment/CDUs/{CoolingUnitId}"
SHELF = "/redfish/v1/PowerEquipment/PowerShelves/{PowerDistributionId}"
PSU_PARENTS = [f"{CH}/PowerSubsystem/PowerSupplies", f"{SHELF}/PowerSupplies"]
LEAK_PARENTS = [f"{CH}/ThermalSubsystem/LeakDetection", f"{CDU}/LeakDetection"]

RESOURCE = Schema(
    "Resource",
    "v1_0_0",
    [
        Type("ItemOrCollection", entity=True, abstract=True),
        Type("Item", base="Resource.ItemOrCollection", entity=True, abstract=True),
        Type("Resource", base="Resource.Item", entity=True, abstract=True),
        Type("ResourceCollection", base="Resource.ItemOrCollection", entity=True, abstract=True),
        Type("Oem", abstract=True),
        Type("Links", (p("Oem", "Resource.Oem"),), abstract=True),
        Type(
            "Status",
            (
                p("State", "Resource.State"),
                p("Health", "Resource.Health"),
                p("HealthRollup", "Resource.Health"),
            ),
        ),
        Enum(
            "State",
            (
                "Enabled",
                "Disabled",
                "StandbyOffline",
                "StandbySpare",
                "InTest",
                "Starting",
                "Absent",
                "UnavailableOffline",
                "Deferring",
                "Quiesced",
                "Updating",
                "Qualified",
                "Degraded",
            ),
        ),
        Enum("Health", ("OK", "Warning", "Critical")),
        Enum("PowerState", ("On", "Off", "PoweringOn", "PoweringOff", "Paused")),
        Enum(
            "ResetType",
            (
                "On",
                "ForceOff",
                "GracefulShutdown",
                "GracefulRestart",
                "ForceRestart",
                "Nmi",
                "ForceOn",
                "PushPowerButton",
                "PowerCycle",
                "Suspend",
                "Pause",
                "Resume",
            ),
        ),
    ],
    [
        Type(
            "Resource",
            (
                p("Id", required=True, nullable=False),
                p("Name", required=True, nullable=False),
                p("Description"),
                p("Oem", "Resource.Oem"),
            ),
            base="Resource.Resource",
            entity=True,
            abstract=True,
        ),
        Type(
            "ResourceCollection",
            (p("Name", required=True, nullable=False), p("Description"), p("Oem", "Resource.Oem")),
            base="Resource.ResourceCollection",
            entity=True,
            abstract=True,
        ),
    ],
)

PHYSICAL_CONTEXT = Schema(
    "PhysicalContext",
    None,
    [
        Enum(
            "PhysicalContext",
            (
                "Room",
                "Intake",
                "Exhaust",
                "LiquidInlet",
                "LiquidOutlet",
                "Front",
                "Back",
                "Upper",
                "Lower",
                "CPU",
                "GPU",
                "Memory",
                "SystemBoard",
                "PowerSupply",
                "Chassis",
                "Fan",
                "Pump",
                "CoolingSubsystem",
                "DCBus",
                "ACInput",
            ),
        )
    ],
)

EXCERPT = (p("DataSourceUri"), p("Reading", DEC))
SENSOR = _resource(
    "Sensor",
    "v1_9_0",
    [
        p("Reading", DEC),
        p("ReadingUnits"),
        p("ReadingType", "Sensor.ReadingType"),
        p("PhysicalContext", "PhysicalContext.PhysicalContext"),
        p("Thresholds", "Sensor.v1_9_0.Thresholds"),
        STATUS,
    ],
    [f"{CH}/Sensors/{{SensorId}}"],
    complex_types=[
        Type(
            "Thresholds",
            tuple(
                p(n, "Sensor.v1_9_0.Threshold")
                for n in ("UpperCaution", "UpperCritical", "LowerCaution", "LowerCritical")
            ),
        ),
        Type("Threshold", (p("Reading", DEC),)),
    ],
    shared_enums=[
        Enum(
            "ReadingType",
            (
                "Temperature",
                "Humidity",
                "Power",
                "EnergykWh",
                "Voltage",
                "Current",
                "Frequency",
                "Pressure",
                "LiquidLevel",
                "Rotational",
                "AirFlow",
                "LiquidFlow",
                "Percent",
                "Heat",
            ),
        )
    ],
)
SENSOR.unversioned += [
    Type("SensorExcerpt", EXCERPT),
    Type("SensorPowerExcerpt", EXCERPT),
    Type("SensorVoltageExcerpt", EXCERPT),
    Type("SensorCurrentExcerpt", EXCERPT),
    Type("SensorFanExcerpt", (*EXCERPT, p("SpeedRPM", DEC))),
    Type("SensorPumpExcerpt", (*EXCERPT, p("SpeedRPM", DEC))),
]

SERVICE_ROOT = _resource(
    "ServiceRoot",
    "v1_17_0",
    [
        p("RedfishVersion"),
        p("UUID", "Edm.Guid"),
        p("Product"),
        p("Vendor"),
        p("ProtocolFeaturesSupported", "ServiceRoot.v1_17_0.ProtocolFeaturesSupported"),
        nav("Systems", "ComputerSystemCollection.ComputerSystemCollection"),
        nav("Chassis", "ChassisCollection.ChassisCollection"),
        nav("Managers", "ManagerCollection.ManagerCollection"),
        nav("SessionService", "SessionService.SessionService"),
        nav("UpdateService", "UpdateService.UpdateService"),
        nav("PowerEquipment", "PowerEquipment.PowerEquipment"),
        nav("ThermalEquipment", "ThermalEquipment.ThermalEquipment"),
        p("Links", "ServiceRoot.v1_17_0.Links", nullable=False, required=True),
    ],
    ["/redfish/v1"],
    complex_types=[
        Type("Links", (nav("Sessions", "SessionCollection.SessionCollection", required=True),)),
        Type(
            "ProtocolFeaturesSupported",
            (
                p("ExcerptQuery", BOOL),
                p("OnlyMemberQuery", BOOL),
                p("SelectQuery", BOOL),
                p("ExpandQuery", BOOL),
            ),
        ),
    ],
)
SERVICE_ROOT.raw_versioned = (
    '      <EntityContainer Name="ServiceContainer">\n'
    '        <Singleton Name="Service" Type="ServiceRoot.ServiceRoot"/>\n'
    "      </EntityContainer>"
)

COMPUTER_SYSTEM = _resource(
    "ComputerSystem",
    "v1_20_0",
    [
        p("SystemType", "ComputerSystem.v1_20_0.SystemType"),
        p("Manufacturer"),
        p("Model"),
        p("SerialNumber"),
        p("UUID", "Edm.Guid"),
        p("PowerState", "Resource.PowerState"),
        p("BiosVersion"),
        STATUS,
        p("ProcessorSummary", "ComputerSystem.v1_20_0.ProcessorSummary"),
        p("MemorySummary", "ComputerSystem.v1_20_0.MemorySummary"),
        nav("Processors", "ProcessorCollection.ProcessorCollection"),
        nav("Memory", "MemoryCollection.MemoryCollection"),
        nav("EthernetInterfaces", "EthernetInterfaceCollection.EthernetInterfaceCollection"),
        p("Links", "ComputerSystem.v1_20_0.Links", nullable=False),
        p("Actions", "ComputerSystem.v1_20_0.Actions", nullable=False),
    ],
    [SYS],
    complex_types=[
        Type("ProcessorSummary", (p("Count", INT), p("Model"))),
        Type("MemorySummary", (p("TotalSystemMemoryGiB", DEC, units="GiBy"),)),
        _links(
            "ComputerSystem",
            [
                nav("Chassis", "Collection(Chassis.Chassis)"),
                nav("ManagedBy", "Collection(Manager.Manager)"),
            ],
        ),
    ],
    enums=[
        Enum("SystemType", ("Physical", "Virtual", "OS", "PhysicallyPartitioned", "VirtuallyPartitioned"))
    ],
    actions=[
        Action("Reset", "ComputerSystem.v1_20_0.Actions", (("ResetType", "Resource.ResetType"),)),
    ],
    updatable=True,
)

PROCESSOR = _resource(
    "Processor",
    "v1_20_0",
    [
        p("ProcessorType", "Processor.v1_20_0.ProcessorType"),
        p("ProcessorArchitecture", "Processor.v1_20_0.ProcessorArchitecture"),
        p("Socket"),
        p("Manufacturer"),
        p("Model"),
        p("SerialNumber"),
        p("FirmwareVersion"),
        p("TotalCores", INT),
        p("TotalThreads", INT),
        p("MaxSpeedMHz", INT),
        STATUS,
    ],
    [f"{SYS}/Processors/{{ProcessorId}}"],
    enums=[
        Enum("ProcessorType", ("CPU", "GPU", "FPGA", "DSP", "Accelerator", "Core", "Thread", "OEM")),
        Enum("ProcessorArchitecture", ("x86", "IA-64", "ARM", "MIPS", "Power", "RISC-V", "OEM")),
    ],
)

MEMORY = _resource(
    "Memory",
    "v1_19_0",
    [
        p("MemoryType", "Memory.v1_19_0.MemoryType"),
        p("MemoryDeviceType", "Memory.v1_19_0.MemoryDeviceType"),
        p("CapacityMiB", INT, units="MiBy"),
        p("Manufacturer"),
        p("SerialNumber"),
        p("OperatingSpeedMhz", INT),
        STATUS,
    ],
    [f"{SYS}/Memory/{{MemoryId}}"],
    enums=[
        Enum("MemoryType", ("DRAM", "NVDIMM_N", "NVDIMM_F", "NVDIMM_P", "IntelOptane")),
        Enum("MemoryDeviceType", ("DDR4", "DDR5", "LPDDR5", "HBM2", "HBM2E", "HBM3")),
    ],
)

ETHERNET_INTERFACE = _resource(
    "EthernetInterface",
    "v1_12_0",
    [
        p("MACAddress"),
        p("SpeedMbps", INT, units="Mbit/s"),
        p("LinkStatus", "EthernetInterface.v1_12_0.LinkStatus"),
        p("InterfaceEnabled", BOOL),
        STATUS,
    ],
    [f"{SYS}/EthernetInterfaces/{{EthernetInterfaceId}}"],
    enums=[Enum("LinkStatus", ("LinkUp", "NoLink", "LinkDown"))],
)

CHASSIS = _resource(
    "Chassis",
    "v1_25_0",
    [
        p("ChassisType", "Chassis.ChassisType", nullable=False, required=True),
        p("Manufacturer"),
        p("Model"),
        p("SerialNumber"),
        p("PowerState", "Resource.PowerState"),
        STATUS,
        nav("Sensors", "SensorCollection.SensorCollection"),
        nav("ThermalSubsystem", "ThermalSubsystem.ThermalSubsystem"),
        nav("PowerSubsystem", "PowerSubsystem.PowerSubsystem"),
        p("Links", "Chassis.v1_25_0.Links", nullable=False),
    ],
    [CH],
    complex_types=[
        _links(
            "Chassis",
            [
                nav("ComputerSystems", "Collection(ComputerSystem.ComputerSystem)"),
                nav("ManagedBy", "Collection(Manager.Manager)"),
            ],
        )
    ],
    shared_enums=[
        Enum(
            "ChassisType",
            ("Rack", "Blade", "Enclosure", "StandAlone", "RackMount", "Card", "Sled", "Shelf", "Other"),
        )
    ],
    updatable=True,
)

THERMAL_SUBSYSTEM = _resource(
    "ThermalSubsystem",
    "v1_3_0",
    [
        STATUS,
        nav("Fans", "FanCollection.FanCollection"),
        nav("ThermalMetrics", "ThermalMetrics.ThermalMetrics"),
        nav("LeakDetection", "LeakDetection.LeakDetection"),
    ],
    [f"{CH}/ThermalSubsystem"],
)

THERMAL_METRICS = _resource(
    "ThermalMetrics",
    "v1_3_0",
    [p("TemperatureSummaryCelsius", "ThermalMetrics.v1_3_0.TemperatureSummary")],
    [f"{CH}/ThermalSubsystem/ThermalMetrics"],
    complex_types=[
        Type(
            "TemperatureSummary", (p("Intake", "Sensor.SensorExcerpt"), p("Exhaust", "Sensor.SensorExcerpt"))
        )
    ],
)

FAN = _resource(
    "Fan",
    "v1_5_0",
    [STATUS, p("SpeedPercent", "Sensor.SensorFanExcerpt")],
    [f"{CH}/ThermalSubsystem/Fans/{{FanId}}"],
)

POWER_SUBSYSTEM = _resource(
    "PowerSubsystem",
    "v1_1_0",
    [
        STATUS,
        p("CapacityWatts", DEC, units="W"),
        nav("PowerSupplies", "PowerSupplyCollection.PowerSupplyCollection"),
    ],
    [f"{CH}/PowerSubsystem"],
)

POWER_SUPPLY = _resource(
    "PowerSupply",
    "v1_6_0",
    [
        STATUS,
        p("PowerSupplyType", "PowerSupply.v1_6_0.PowerSupplyType"),
        p("LineInputStatus", "PowerSupply.v1_6_0.LineStatus"),
        p("PowerCapacityWatts", DEC, units="W"),
        p("Manufacturer"),
        p("Model"),
        p("SerialNumber"),
        p("FirmwareVersion"),
        nav("Metrics", "PowerSupplyMetrics.PowerSupplyMetrics"),
    ],
    [f"{parent}/{{PowerSupplyId}}" for parent in PSU_PARENTS],
    enums=[
        Enum("PowerSupplyType", ("AC", "DC", "ACorDC", "DCRegulator")),
        Enum("LineStatus", ("Normal", "LossOfInput", "OutOfRange")),
    ],
)

POWER_SUPPLY_METRICS = _resource(
    "PowerSupplyMetrics",
    "v1_1_0",
    [
        STATUS,
        p("InputVoltage", "Sensor.SensorVoltageExcerpt"),
        p("InputCurrentAmps", "Sensor.SensorCurrentExcerpt"),
        p("InputPowerWatts", "Sensor.SensorPowerExcerpt"),
        p("OutputPowerWatts", "Sensor.SensorPowerExcerpt"),
        p("RailVoltage", "Collection(Sensor.SensorVoltageExcerpt)"),
        p("RailCurrentAmps", "Collection(Sensor.SensorCurrentExcerpt)"),
    ],
    [f"{parent}/{{PowerSupplyId}}/Metrics" for parent in PSU_PARENTS],
)

LEAK_DETECTION = _resource(
    "LeakDetection",
    "v1_1_0",
    [STATUS, nav("LeakDetectors", "LeakDetectorCollection.LeakDetectorCollection")],
    LEAK_PARENTS,
)

LEAK_DETECTOR = _resource(
    "LeakDetector",
    "v1_3_0",
    [
        p("DetectorState", "Resource.Health"),
        p("LeakDetectorType", "LeakDetector.v1_3_0.LeakDetectorType"),
        p("PhysicalContext", "PhysicalContext.PhysicalContext"),
        STATUS,
    ],
    [f"{parent}/LeakDetectors/{{LeakDetectorId}}" for parent in LEAK_PARENTS],
    enums=[Enum("LeakDetectorType", ("Moisture", "FloatSwitch"))],
)

MANAGER = _resource(
    "Manager",
    "v1_19_0",
    [
        p("ManagerType", "Manager.v1_19_0.ManagerType"),
        p("Manufacturer"),
        p("Model"),
        p("SerialNumber"),
        p("FirmwareVersion"),
        p("UUID", "Edm.Guid"),
        p("PowerState", "Resource.PowerState"),
        STATUS,
        p("Links", "Manager.v1_19_0.Links", nullable=False),
    ],
    ["/redfish/v1/Managers/{ManagerId}"],
    complex_types=[
        _links(
            "Manager",
            [
                nav("ManagerForServers", "Collection(ComputerSystem.ComputerSystem)"),
                nav("ManagerForChassis", "Collection(Chassis.Chassis)"),
            ],
        )
    ],
    enums=[
        Enum("ManagerType", ("ManagementController", "EnclosureManager", "BMC", "RackManager", "Service"))
    ],
    updatable=True,
)

UPDATE_SERVICE = _resource(
    "UpdateService",
    "v1_14_0",
    [
        p("ServiceEnabled", BOOL),
        STATUS,
        nav("FirmwareInventory", "SoftwareInventoryCollection.SoftwareInventoryCollection"),
    ],
    ["/redfish/v1/UpdateService"],
    updatable=True,
)

SOFTWARE_INVENTORY = _resource(
    "SoftwareInventory",
    "v1_10_0",
    [p("Version"), p("Updateable", BOOL), p("Manufacturer"), p("SoftwareId"), STATUS],
    ["/redfish/v1/UpdateService/FirmwareInventory/{SoftwareInventoryId}"],
)

SESSION_SERVICE = _resource(
    "SessionService",
    "v1_1_9",
    [
        p("ServiceEnabled", BOOL),
        p("SessionTimeout", INT, units="s"),
        STATUS,
        nav("Sessions", "SessionCollection.SessionCollection"),
    ],
    ["/redfish/v1/SessionService"],
    updatable=True,
)

SESSION = _resource(
    "Session",
    "v1_7_0",
    [p("UserName"), p("SessionType", "Session.v1_7_0.SessionTypes"), p("CreatedTime", "Edm.DateTimeOffset")],
    ["/redfish/v1/SessionService/Sessions/{SessionId}"],
    enums=[Enum("SessionTypes", ("HostConsole", "ManagerConsole", "IPMI", "KVMIP", "OEM", "Redfish"))],
    deletable=True,
)

POWER_EQUIPMENT = _resource(
    "PowerEquipment",
    "v1_2_0",
    [STATUS, nav("PowerShelves", "PowerDistributionCollection.PowerDistributionCollection")],
    ["/redfish/v1/PowerEquipment"],
)

POWER_DISTRIBUTION = _resource(
    "PowerDistribution",
    "v1_3_0",
    [
        p("EquipmentType", "PowerDistribution.v1_3_0.PowerEquipmentType", nullable=False, required=True),
        p("Manufacturer"),
        p("Model"),
        p("SerialNumber"),
        p("FirmwareVersion"),
        STATUS,
        nav("PowerSupplies", "PowerSupplyCollection.PowerSupplyCollection"),
        nav("Mains", "CircuitCollection.CircuitCollection"),
        nav("Branches", "CircuitCollection.CircuitCollection"),
        nav("Metrics", "PowerDistributionMetrics.PowerDistributionMetrics"),
        p("Links", "PowerDistribution.v1_3_0.Links", nullable=False),
    ],
    [SHELF],
    complex_types=[
        _links(
            "PowerDistribution",
            [nav("Chassis", "Collection(Chassis.Chassis)"), nav("ManagedBy", "Collection(Manager.Manager)")],
        )
    ],
    enums=[
        Enum(
            "PowerEquipmentType",
            (
                "RackPDU",
                "FloorPDU",
                "ManualTransferSwitch",
                "AutomaticTransferSwitch",
                "Switchgear",
                "PowerShelf",
                "Bus",
                "BatteryShelf",
            ),
        )
    ],
    updatable=True,
)

CIRCUIT = _resource(
    "Circuit",
    "v1_8_0",
    [
        p("CircuitType", "Circuit.v1_8_0.CircuitType"),
        p("NominalVoltage", "Circuit.v1_8_0.NominalVoltageType"),
        p("PowerState", "Resource.PowerState"),
        p("Voltage", "Sensor.SensorVoltageExcerpt"),
        p("CurrentAmps", "Sensor.SensorCurrentExcerpt"),
        p("PowerWatts", "Sensor.SensorPowerExcerpt"),
        STATUS,
    ],
    [f"{SHELF}/Mains/{{CircuitId}}", f"{SHELF}/Branches/{{CircuitId}}"],
    enums=[
        Enum("CircuitType", ("Mains", "Branch", "Subfeed", "Feeder", "Bus")),
        Enum("NominalVoltageType", ("AC120V", "AC208V", "AC230V", "AC240V", "AC400V", "DC48V", "DC12V")),
    ],
)

POWER_DISTRIBUTION_METRICS = _resource(
    "PowerDistributionMetrics",
    "v1_3_0",
    [p("PowerWatts", "Sensor.SensorPowerExcerpt")],
    [f"{SHELF}/Metrics"],
)

THERMAL_EQUIPMENT = _resource(
    "ThermalEquipment",
    "v1_1_0",
    [STATUS, nav("CDUs", "CoolingUnitCollection.CoolingUnitCollection")],
    ["/redfish/v1/ThermalEquipment"],
)

COOLING_UNIT = _resource(
    "CoolingUnit",
    "v1_1_0",
    [
        p("EquipmentType", "CoolingUnit.v1_1_0.CoolingEquipmentType", nullable=False, required=True),
        p("Manufacturer"),
        p("Model"),
        p("SerialNumber"),
        p("FirmwareVersion"),
        p("CoolingCapacityWatts", INT, units="W"),
        STATUS,
        nav("Pumps", "PumpCollection.PumpCollection"),
        nav("PrimaryCoolantConnectors", "CoolantConnectorCollection.CoolantConnectorCollection"),
        nav("SecondaryCoolantConnectors", "CoolantConnectorCollection.CoolantConnectorCollection"),
        nav("LeakDetection", "LeakDetection.LeakDetection"),
        p("Links", "CoolingUnit.v1_1_0.Links", nullable=False),
    ],
    [CDU],
    complex_types=[
        _links(
            "CoolingUnit",
            [nav("Chassis", "Collection(Chassis.Chassis)"), nav("ManagedBy", "Collection(Manager.Manager)")],
        )
    ],
    enums=[Enum("CoolingEquipmentType", ("CDU", "HeatExchanger", "ImmersionUnit", "RPU"))],
    updatable=True,
)

PUMP = _resource(
    "Pump",
    "v1_0_0",
    [
        p("PumpType", "Pump.v1_0_0.PumpType"),
        STATUS,
        p("PumpSpeedPercent", "Sensor.SensorPumpExcerpt"),
        p("ServiceHours", DEC, units="h"),
    ],
    [f"{CDU}/Pumps/{{PumpId}}"],
    enums=[Enum("PumpType", ("Liquid", "Compressor"))],
)

COOLANT_CONNECTOR = _resource(
    "CoolantConnector",
    "v1_0_0",
    [
        p("CoolantConnectorType", "CoolantConnector.v1_0_0.CoolantConnectorType"),
        STATUS,
        p("RatedFlowLitersPerMinute", DEC, units="L/min"),
        p("FlowLitersPerMinute", "Sensor.SensorExcerpt"),
        p("SupplyTemperatureCelsius", "Sensor.SensorExcerpt"),
        p("ReturnTemperatureCelsius", "Sensor.SensorExcerpt"),
        p("DeltaTemperatureCelsius", "Sensor.SensorExcerpt"),
        p("SupplyPressurekPa", "Sensor.SensorExcerpt"),
        p("ReturnPressurekPa", "Sensor.SensorExcerpt"),
        p("DeltaPressurekPa", "Sensor.SensorExcerpt"),
        p("HeatRemovedkW", "Sensor.SensorExcerpt"),
    ],
    [
        f"{CDU}/PrimaryCoolantConnectors/{{CoolantConnectorId}}",
        f"{CDU}/SecondaryCoolantConnectors/{{CoolantConnectorId}}",
    ],
    enums=[Enum("CoolantConnectorType", ("Pair", "Supply", "Return", "Inline", "Closed"))],
)

RESOURCES = [
    RESOURCE,
    PHYSICAL_CONTEXT,
    SERVICE_ROOT,
    SENSOR,
    COMPUTER_SYSTEM,
    PROCESSOR,
    MEMORY,
    ETHERNET_INTERFACE,
    CHASSIS,
    THERMAL_SUBSYSTEM,
    THERMAL_METRICS,
    FAN,
    POWER_SUBSYSTEM,
    POWER_SUPPLY,
    POWER_SUPPLY_METRICS,
    LEAK_DETECTION,
    LEAK_DETECTOR,
    MANAGER,
    UPDATE_SERVICE,
    SOFTWARE_INVENTORY,
    SESSION_SERVICE,
    SESSION,
    POWER_EQUIPMENT,
    POWER_DISTRIBUTION,
    CIRCUIT,
    POWER_DISTRIBUTION_METRICS,
    THERMAL_EQUIPMENT,
    COOLING_UNIT,
    PUMP,
    COOLANT_CONNECTOR,
]

COLLECTIONS = [
    _collection("ComputerSystem", ["/redfish/v1/Systems"]),
    _collection("Processor", [f"{SYS}/Processors"]),
    _collection("Memory", [f"{SYS}/Memory"]),
    _collection("EthernetInterface", [f"{SYS}/EthernetInterfaces"]),
    _collection("Chassis", ["/redfish/v1/Chassis"]),
    _collection("Sensor", [f"{CH}/Sensors"]),
    _collection("Fan", [f"{CH}/ThermalSubsystem/Fans"]),
    _collection("PowerSupply", PSU_PARENTS),
    _collection("LeakDetector", [f"{parent}/LeakDetectors" for parent in LEAK_PARENTS]),
    _collection("Manager", ["/redfish/v1/Managers"]),
    _collection("SoftwareInventory", ["/redfish/v1/UpdateService/FirmwareInventory"]),
    _collection("Session", ["/redfish/v1/SessionService/Sessions"], insertable=True),
    _collection("PowerDistribution", ["/redfish/v1/PowerEquipment/PowerShelves"]),
    _collection("Circuit", [f"{SHELF}/Mains", f"{SHELF}/Branches"]),
    _collection("CoolingUnit", ["/redfish/v1/ThermalEquipment/CDUs"]),
    _collection("Pump", [f"{CDU}/Pumps"]),
    _collection("CoolantConnector", [f"{CDU}/PrimaryCoolantConnectors", f"{CDU}/SecondaryCoolantConnectors"]),
]

ALL = RESOURCES + COLLECTIONS
BY_NAME = {s.name: s for s in ALL}


def odata_type(name: str) -> str:
    """``#ComputerSystem.v1_20_0.ComputerSystem`` for ``ComputerSystem``; collections are unversioned."""
    schema = BY_NAME[name]
    return f"#{schema.odata_type_prefix}.{name}"
