"""SONiC CLI output (sonic-utilities), rendered from a simulated switch's state.

Tables are printed the way sonic-utilities prints them with ``tabulate`` ("simple"
format): each column as wide as its widest cell or its header plus two, columns two
spaces apart, a dashed line under the header; ``show interfaces status`` and
``show interfaces counters`` right-align, ``show lldp table`` left-aligns.
Formats: /work/shared/device-outputs (show version, show interfaces status, show
lldp table); ``show interfaces counters`` as sonic-utilities' portstat prints it
(doc/Command-Reference.md, tests/portstat_test.py); ``show interfaces transceiver
eeprom --dom`` as sfputil renders it (tests/sfputil_test.py, sfp_test.py).

Does not import ``drivers``.
"""

from __future__ import annotations

import time

from simulators.switch_model import IdentityView, OpticView, PortView

TYPES = {
    1: "SFP/SFP+/SFP28",
    4: "QSFP28 or later",
    8: "QSFP-DD Double Density 8X Pluggable Transceiver",
}


def tabulate(headers: list[str], rows: list[list[str]], *, right: bool) -> str:
    widths = [max([len(h) + 2] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if right else c.ljust(w) for c, w in zip(cells, widths, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"


def show_version(ident: IdentityView, uptime_s: float) -> str:
    minutes = int(uptime_s // 60)
    return (
        "\n"
        f"SONiC Software Version: {ident.firmware}\n"
        "SONiC OS Version: 12\n"
        "Distribution: Debian 12.4\n"
        "Kernel: 6.1.0-11-2-amd64\n"
        "Build commit: 0f8d3f2e1\n"
        "Build date: Tue Jan 16 05:21:41 UTC 2024\n"
        "Built by: sonicbld@jenkins-worker-8\n"
        "\n"
        "Platform: x86_64-mlnx_msn2700-r0\n"
        f"HwSKU: {ident.model}\n"
        "ASIC: mellanox\n"
        "ASIC Count: 1\n"
        f"Serial Number: {ident.serial}\n"
        "Model Number: MSN2700-CS2FO\n"
        "Hardware Revision: A1\n"
        f"Uptime: {time.strftime('%H:%M:%S')} up {minutes} min,  1 user,  load average: 0.52, 0.61, 0.66\n"
        f"Date: {time.strftime('%a %d %b %Y %H:%M:%S')}\n"
        "\n"
        "Docker images:\n"
        "REPOSITORY                 TAG                 IMAGE ID            SIZE\n"
        "docker-orchagent           latest              e4f9c4631025        287MB\n"
        "docker-lldp                latest              9681bbfea3ac        275MB\n"
        "docker-database            latest              badc6fc84cdb        256MB\n"
    )


def _lanes(port: PortView) -> str:
    first = (port.index - 1) * 4
    return ",".join(str(first + i) for i in range(4))


def _type(port: PortView) -> str:
    if port.optic is None:
        return "N/A"
    return TYPES.get(len(port.optic.tx_power_dbm), "QSFP28 or later")


def show_interfaces_status(ports: list[PortView]) -> str:
    headers = [
        "Interface",
        "Lanes",
        "Speed",
        "MTU",
        "FEC",
        "Alias",
        "Vlan",
        "Oper",
        "Admin",
        "Type",
        "Asym PFC",
    ]
    rows = [
        [
            p.name,
            _lanes(p),
            p.speed,
            "9100",
            "rs",
            f"etp{p.index}",
            "routed",
            "up" if p.oper_up else "down",
            "up" if p.admin_up else "down",
            _type(p),
            "off",
        ]
        for p in ports
    ]
    return tabulate(headers, rows, right=True)


def show_lldp_table(ports: list[PortView], mgmt_neighbor: tuple[str, str] | None) -> str:
    rows = [[p.name, p.neighbor[0], p.neighbor[1], "R", p.neighbor[1]] for p in ports if p.neighbor]
    if mgmt_neighbor is not None:
        rows.append(["eth0", mgmt_neighbor[0], mgmt_neighbor[1], "BR", ""])
    table = tabulate(
        ["LocalPort", "RemoteDevice", "RemotePortID", "Capability", "RemotePortDescr"],
        rows,
        right=False,
    )
    return (
        "Capability codes: (R) Router, (B) Bridge, (O) Other\n"
        + table
        + "-" * 50
        + "\n"
        + f"Total entries displayed:  {len(rows)}\n"
    )


def _n(value: int) -> str:
    return f"{value:,}"


def show_interfaces_counters(ports: list[PortView]) -> str:
    headers = [
        "IFACE",
        "STATE",
        "RX_OK",
        "RX_BPS",
        "RX_UTIL",
        "RX_ERR",
        "RX_DRP",
        "RX_OVR",
        "TX_OK",
        "TX_BPS",
        "TX_UTIL",
        "TX_ERR",
        "TX_DRP",
        "TX_OVR",
    ]
    rows = []
    for p in ports:
        c = p.counters
        state = "U" if p.oper_up else ("X" if not p.admin_up else "D")
        rows.append(
            [
                p.name,
                state,
                _n(c.rx_ok),
                "0.00 B/s",
                "0.00%",
                _n(c.in_errors),
                _n(c.in_discards),
                "0",
                _n(c.tx_ok),
                "0.00 B/s",
                "0.00%",
                _n(c.out_errors),
                _n(c.out_discards),
                "0",
            ]
        )
    return tabulate(headers, rows, right=True)


def _dom_block(port: PortView, optic: OpticView) -> list[str]:
    i8, i16 = " " * 8, " " * 16
    lanes = len(optic.tx_power_dbm)
    lines = [
        f"{port.name}: SFP EEPROM detected",
        f"{i8}Application Advertisement: N/A",
        f"{i8}Connector: MPO 1x12",
        f"{i8}Encoding: 64B66B",
        f"{i8}Extended Identifier: Power Class 4 (3.5W max), CDR present in Rx Tx",
        f"{i8}Extended RateSelect Compliance: QSFP+ Rate Select Version 1",
        f"{i8}Identifier: {TYPES.get(lanes, 'QSFP28 or later')}",
        f"{i8}Length Cable Assembly(m): 0",
        f"{i8}Nominal Bit Rate(100Mbs): 255",
        f"{i8}Specification compliance:",
        f"{i16}10/40G Ethernet Compliance Code: Extended",
        f"{i16}Extended Specification Compliance: {optic.media_type}",
        f"{i8}Vendor Date Code(YYYY-MM-DD Lot): 2023-05-10",
        f"{i8}Vendor Name: Mellanox",
        f"{i8}Vendor OUI: 00-02-c9",
        f"{i8}Vendor PN: MMA1B00-C100D",
        f"{i8}Vendor Rev: A0",
        f"{i8}Vendor SN: MT{port.index:04d}FT00001",
        f"{i8}ChannelMonitorValues:",
    ]
    # natural sort of rxNpower, txNbias, txNpower, as sfputil prints them
    lines += [f"{i16}RX{n + 1}Power: {v:.4f}dBm" for n, v in enumerate(optic.rx_power_dbm)]
    for n in range(lanes):
        lines.append(f"{i16}TX{n + 1}Bias: {optic.tx_bias_ma[n]:.4f}mA")
        lines.append(f"{i16}TX{n + 1}Power: {optic.tx_power_dbm[n]:.4f}dBm")
    lines += [
        f"{i8}ChannelThresholdValues:",
        f"{i16}RxPowerHighAlarm  : 3.4001dBm",
        f"{i16}RxPowerHighWarning: 2.4000dBm",
        f"{i16}RxPowerLowAlarm   : -13.5067dBm",
        f"{i16}RxPowerLowWarning : -9.5001dBm",
        f"{i16}TxBiasHighAlarm   : 10.0000mA",
        f"{i16}TxBiasHighWarning : 9.5000mA",
        f"{i16}TxBiasLowAlarm    : 0.5000mA",
        f"{i16}TxBiasLowWarning  : 1.0000mA",
        f"{i8}ModuleMonitorValues:",
        f"{i16}Temperature: {optic.temperature_c:.4f}C",
        f"{i16}Vcc: {optic.voltage_v:.4f}Volts",
        f"{i8}ModuleThresholdValues:",
        f"{i16}TempHighAlarm  : 75.0000C",
        f"{i16}TempHighWarning: 70.0000C",
        f"{i16}TempLowAlarm   : -5.0000C",
        f"{i16}TempLowWarning : 0.0000C",
        f"{i16}VccHighAlarm   : 3.6300Volts",
        f"{i16}VccHighWarning : 3.4650Volts",
        f"{i16}VccLowAlarm    : 2.9700Volts",
        f"{i16}VccLowWarning  : 3.1350Volts",
    ]
    return lines


def show_transceiver_eeprom(ports: list[PortView], *, dom: bool) -> str:
    """``show interfaces transceiver eeprom [--dom]``: without ``--dom`` the identification
    fields only (no monitor values or thresholds)."""
    blocks = []
    for p in ports:
        if p.optic is None:
            blocks.append(f"{p.name}: SFP EEPROM Not detected")
            continue
        lines = _dom_block(p, p.optic)
        if not dom:
            lines = lines[: lines.index(" " * 8 + "ChannelMonitorValues:")]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def show_transceiver_eeprom_dom(ports: list[PortView]) -> str:
    return show_transceiver_eeprom(ports, dom=True)


def show_transceiver_presence(ports: list[PortView]) -> str:
    """sfpshow's presence table: "Present" / "Not present", left-aligned."""
    rows = [[p.name, "Present" if p.present else "Not present"] for p in ports]
    return tabulate(["Port", "Presence"], rows, right=False)


def execute(command: str, ident: IdentityView, ports: list[PortView], uptime_s: float) -> tuple[str, int]:
    """Output and exit status of one command typed at the SONiC bash prompt."""
    cmd = " ".join(command.split())
    table = {
        "show version": lambda: show_version(ident, uptime_s),
        "show interfaces status": lambda: show_interfaces_status(ports),
        "show lldp table": lambda: show_lldp_table(ports, ("mgmt-sw", f"GigabitEthernet 0/{len(ports)}")),
        "show interfaces counters": lambda: show_interfaces_counters(ports),
        "show interfaces transceiver eeprom --dom": lambda: show_transceiver_eeprom_dom(ports),
        "show interfaces transceiver eeprom -d": lambda: show_transceiver_eeprom_dom(ports),
        "show interfaces transceiver eeprom": lambda: show_transceiver_eeprom(ports, dom=False),
        "show interfaces transceiver presence": lambda: show_transceiver_presence(ports),
    }
    if cmd in table:
        return table[cmd](), 0
    if cmd == "" or cmd.startswith("export "):
        return "", 0
    if cmd.startswith("show "):
        word = cmd.split()[1] if len(cmd.split()) > 1 else ""
        return (
            "Usage: show [OPTIONS] COMMAND [ARGS]...\n"
            'Try "show -h" for help.\n\n'
            f'Error: No such command "{word}".\n',
            2,
        )
    return f"-bash: {cmd.split()[0]}: command not found\n", 127
