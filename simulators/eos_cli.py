"""Arista EOS CLI output, rendered from a simulated switch's state.

JSON keys and value types follow real EOS ``| json`` output (napalm's captures of
show version / show interfaces / show lldp neighbors, see
/work/shared/device-outputs/README.md); text formats follow ntc-templates' captures.
``show interfaces transceiver dom | json`` is rendered as one entry per port with
``parameters.<name>.{unit, channels}`` (channel "-" for module-wide values), the
shape of EOS 4.2x's ``show interfaces transceiver dom`` table.

Does not import ``drivers``: the simulator must not agree with the driver's bugs.
"""

from __future__ import annotations

import json
import time
from typing import Any

from simulators.switch_model import IdentityView, OpticView, PortView

GBPS = {
    "1G": 1,
    "10G": 10,
    "25G": 25,
    "40G": 40,
    "50G": 50,
    "100G": 100,
    "200G": 200,
    "400G": 400,
    "800G": 800,
}
INVALID = "% Invalid input\n"


def _json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


def _dotted_mac(mac: str) -> str:
    digits = mac.replace(":", "")
    return ".".join(digits[i : i + 4] for i in range(0, 12, 4))


def show_version_json(ident: IdentityView, uptime_s: float) -> str:
    now = time.time()
    return _json(
        {
            "mfgName": "Arista",
            "modelName": ident.model,
            "hardwareRevision": "11.00",
            "serialNumber": ident.serial,
            "systemMacAddress": ident.mac,
            "hwMacAddress": ident.mac,
            "configMacAddress": "00:00:00:00:00:00",
            "version": ident.firmware,
            "architecture": "x86_64",
            "internalVersion": f"{ident.firmware}-0000000.{ident.firmware.replace('.', '')}",
            "internalBuildId": "00000000-0000-4000-8000-000000000000",
            "imageFormatVersion": "3.0",
            "imageOptimization": "Strata-4GB",
            "bootupTimestamp": round(now - uptime_s, 6),
            "uptime": round(uptime_s, 6),
            "memTotal": 8098984,
            "memFree": 5911912,
            "isIntlVersion": False,
        }
    )


def uptime_text(uptime_s: float) -> str:
    """EOS's ``Uptime:`` wording: leading zero units dropped, inner ones kept, singulars.

    "3 weeks, 0 days, 20 hours and 45 minutes", "2 days, 15 hours and 56 minutes",
    "1 hour and 16 minutes" (captures in /work/shared/device-outputs).
    """
    minutes = int(uptime_s // 60)
    values = [minutes // 10080, minutes // 1440 % 7, minutes // 60 % 24, minutes % 60]
    units = ["week", "day", "hour", "minute"]
    first = next((i for i, v in enumerate(values) if v), len(values) - 1)
    parts = [f"{v} {u}{'' if v == 1 else 's'}" for v, u in zip(values[first:], units[first:], strict=True)]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def show_version_text(ident: IdentityView, uptime_s: float) -> str:
    return (
        f"Arista {ident.model}\n"
        "Hardware version: 11.00\n"
        f"Serial number: {ident.serial}\n"
        f"Hardware MAC address: {_dotted_mac(ident.mac)}\n"
        f"System MAC address: {_dotted_mac(ident.mac)}\n"
        "\n"
        f"Software image version: {ident.firmware}\n"
        "Architecture: x86_64\n"
        f"Internal build version: {ident.firmware}-0000000.{ident.firmware.replace('.', '')}\n"
        "Internal build ID: 00000000-0000-4000-8000-000000000000\n"
        "Image format version: 3.0\n"
        "Image optimization: Strata-4GB\n"
        "\n"
        f"Uptime: {uptime_text(uptime_s)}\n"
        "Total memory: 8098984 kB\n"
        "Free memory: 5911912 kB\n"
    )


def _status(port: PortView) -> tuple[str, str]:
    """(interfaceStatus, lineProtocolStatus) as EOS names them."""
    if not port.admin_up:
        return "disabled", "down"
    if port.oper_up:
        return "connected", "up"
    return "notconnect", "down" if port.present else "notPresent"


def _interface(port: PortView) -> dict[str, Any]:
    c = port.counters
    status, protocol = _status(port)
    return {
        "name": port.name,
        "forwardingModel": "bridged",
        "lineProtocolStatus": protocol,
        "interfaceStatus": status,
        "hardware": "ethernet",
        "interfaceAddress": [],
        "physicalAddress": port.mac,
        "burnedInAddress": port.mac,
        "description": "",
        "bandwidth": GBPS[port.speed] * 1_000_000_000,
        "mtu": 9214,
        "l3MtuConfigured": False,
        "l2Mru": 0,
        "lastStatusChangeTimestamp": 1700000000.0,
        "duplex": "duplexFull",
        "autoNegotiate": "unknown",
        "loopbackMode": "loopbackNone",
        "interfaceStatistics": {
            "inBitsRate": 0.0,
            "inPktsRate": 0.0,
            "outBitsRate": 0.0,
            "outPktsRate": 0.0,
            "updateInterval": 300.0,
        },
        "interfaceCounters": {
            "inOctets": c.rx_ok * 512,
            "inUcastPkts": c.rx_ok,
            "inMulticastPkts": 0,
            "inBroadcastPkts": 0,
            "inDiscards": c.in_discards,
            "inTotalPkts": c.rx_ok,
            "outOctets": c.tx_ok * 512,
            "outUcastPkts": c.tx_ok,
            "outMulticastPkts": 0,
            "outBroadcastPkts": 0,
            "outDiscards": c.out_discards,
            "outTotalPkts": c.tx_ok,
            "linkStatusChanges": 1,
            "totalInErrors": c.in_errors,
            "inputErrorsDetail": {
                "runtFrames": c.runt_frames,
                "giantFrames": c.giant_frames,
                "fcsErrors": c.fcs_errors,
                "alignmentErrors": c.alignment_errors,
                "symbolErrors": c.symbol_errors,
                "rxPause": 0,
            },
            "totalOutErrors": c.out_errors,
            "outputErrorsDetail": {
                "collisions": 0,
                "lateCollisions": 0,
                "deferredTransmissions": 0,
                "txPause": 0,
            },
            "counterRefreshTime": time.time(),
        },
    }


def show_interfaces_json(ports: list[PortView]) -> str:
    return _json({"interfaces": {p.name: _interface(p) for p in ports}})


def show_lldp_neighbors_json(ports: list[PortView]) -> str:
    rows = [
        {"port": p.name, "neighborDevice": p.neighbor[0], "neighborPort": p.neighbor[1], "ttl": 120}
        for p in ports
        if p.neighbor is not None
    ]
    return _json(
        {
            "tablesLastChangeTime": 1700000000.0,
            "tablesAgeOuts": 0,
            "tablesInserts": len(rows),
            "lldpNeighbors": rows,
            "tablesDeletes": 0,
            "tablesDrops": 0,
        }
    )


def _short(name: str) -> str:
    return name.replace("Ethernet", "Et", 1).replace("Management", "Ma", 1)


def show_lldp_neighbors_text(ports: list[PortView]) -> str:
    rows = [p for p in ports if p.neighbor is not None]
    lines = [
        "Last table change time   : 0:00:02 ago",
        f"Number of table inserts  : {len(rows)}",
        "Number of table deletes  : 0",
        "Number of table drops    : 0",
        "Number of table age-outs : 0",
        "",
        f"{'Port':<10} {'Neighbor Device ID':<30} {'Neighbor Port ID':<26} TTL",
    ]
    for p in rows:
        assert p.neighbor is not None
        lines.append(f"{_short(p.name):<10} {p.neighbor[0]:<30} {p.neighbor[1]:<26} 120")
    return "\n".join(lines) + "\n"


def show_interfaces_status_text(ports: list[PortView]) -> str:
    """``show interfaces status`` as EOS 4.2x prints it.

    Columns Port, Name, Status, Vlan, Duplex, Speed, Type, Flags, Encapsulation, one
    space apart; Name and Type as wide as their widest cell (Name at least 6, Type at
    least 12, as in the captures), the others fixed; trailing blanks stripped.
    """
    rows = []
    for p in ports:
        media = p.optic.media_type if p.optic is not None else "Not Present"
        rows.append([_short(p.name), "", _status(p)[0], "1", "full", p.speed, media, "", ""])
    headers = ["Port", "Name", "Status", "Vlan", "Duplex", "Speed", "Type", "Flags", "Encapsulation"]
    widths = [10, 6, 12, 8, 6, 6, 12, 5, 13]
    for col in (1, 6):
        widths[col] = max([widths[col]] + [len(r[col]) for r in rows])

    def line(cells: list[str]) -> str:
        return " ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers)] + [line(r) for r in rows]) + "\n"


def _channels(values: tuple[float, ...]) -> dict[str, float]:
    return {str(i + 1): v for i, v in enumerate(values)}


def _dom(port: PortView, optic: OpticView) -> dict[str, Any]:
    return {
        "displayName": port.name,
        "mediaType": optic.media_type,
        "vendorSn": f"XSIM{port.index:04d}",
        "updateTime": time.time(),
        "parameters": {
            "temperature": {"unit": "C", "channels": {"-": optic.temperature_c}},
            "voltage": {"unit": "V", "channels": {"-": optic.voltage_v}},
            "txBias": {"unit": "mA", "channels": _channels(optic.tx_bias_ma)},
            "txPower": {"unit": "dBm", "channels": _channels(optic.tx_power_dbm)},
            "rxPower": {"unit": "dBm", "channels": _channels(optic.rx_power_dbm)},
        },
    }


def show_transceiver_dom_json(ports: list[PortView]) -> str:
    return _json({"interfaces": {p.name: _dom(p, p.optic) for p in ports if p.optic is not None}})


def execute(command: str, ident: IdentityView, ports: list[PortView], uptime_s: float) -> tuple[str, int]:
    """Output and exit status of one EOS command (whitespace-normalised)."""
    cmd = " ".join(command.split())
    table = {
        "show version | json": lambda: show_version_json(ident, uptime_s),
        "show version": lambda: show_version_text(ident, uptime_s),
        "show interfaces | json": lambda: show_interfaces_json(ports),
        "show lldp neighbors | json": lambda: show_lldp_neighbors_json(ports),
        "show lldp neighbors": lambda: show_lldp_neighbors_text(ports),
        "show interfaces status": lambda: show_interfaces_status_text(ports),
        "show interfaces transceiver dom | json": lambda: show_transceiver_dom_json(ports),
    }
    if cmd in table:
        return table[cmd](), 0
    if cmd in ("enable", ""):
        return "", 0  # the session is already privileged (prompt "#")
    words = cmd.split()
    if len(words) == 3 and words[0] in ("terminal", "term") and words[2].isdigit():
        if words[1] in ("width", "wid"):
            return f"Width set to {int(words[2])} columns.\n", 0
        if words[1] in ("length", "len"):
            return ("Pagination disabled.\n" if int(words[2]) == 0 else ""), 0
    return INVALID, 1
