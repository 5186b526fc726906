"""Parsers of Arista EOS ``| json`` output: pure functions from text to typed data.

Formats (keys and value types) follow real EOS output, as captured in napalm's
test data (show version, show interfaces, show lldp neighbors: see
/work/shared/device-outputs/README.md). ``show interfaces transceiver dom | json``
has no public capture we could find; its shape here (``interfaces.<port>.parameters.
<txPower|rxPower|txBias|temperature>.channels.{"1".."8" | "-"}``) follows EOS 4.2x's
``show interfaces transceiver dom`` table (one row per parameter and channel).

Every parser raises :class:`drivers.switch.OutputFormatError` on anything it does
not recognise; a missing key is an error, never a default.
"""

from __future__ import annotations

import json
import math
from typing import Any

from drivers.switch import (
    ErrorCounters,
    Interface,
    LaneDom,
    LldpNeighbor,
    OutputFormatError,
    SwitchIdentity,
    Transceiver,
)


def _load(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise OutputFormatError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise OutputFormatError("top level is not a JSON object")
    return data


def _get(obj: Any, key: str, typ: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict):
        raise OutputFormatError(f"{where}: not an object")
    if key not in obj:
        raise OutputFormatError(f"{where}: missing key {key!r}")
    value = obj[key]
    if typ is float or typ == (int, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif typ is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, typ)
    if not ok:
        raise OutputFormatError(f"{where}.{key}: unexpected value {value!r}")
    return value


def parse_version(text: str) -> SwitchIdentity:
    """``show version | json``."""
    data = _load(text)
    return SwitchIdentity(
        model=_get(data, "modelName", str, "version"),
        serial=_get(data, "serialNumber", str, "version"),
        firmware=_get(data, "version", str, "version"),
    )


_LINE_PROTOCOL = {"up", "down", "notPresent", "lowerLayerDown", "dormant", "testing", "unknown"}
_STATUS = {"connected", "notconnect", "disabled", "errdisabled", "inactive", "up", "down"}


def _interfaces(text: str) -> dict[str, Any]:
    data = _load(text)
    interfaces = _get(data, "interfaces", dict, "show interfaces")
    for name, entry in interfaces.items():
        # the key names the interface (napalm's capture has an entry whose "name"
        # disagrees with its key; the key is what EOS indexes by)
        if not isinstance(entry, dict):
            raise OutputFormatError(f"interfaces.{name}: not an object")
    return interfaces


def parse_interfaces(text: str) -> list[Interface]:
    """``show interfaces | json``: admin state, line protocol, speed (``bandwidth`` in bit/s)."""
    result = []
    for name, entry in _interfaces(text).items():
        where = f"interfaces.{name}"
        status = _get(entry, "interfaceStatus", str, where)
        protocol = _get(entry, "lineProtocolStatus", str, where)
        if status not in _STATUS:
            raise OutputFormatError(f"{where}.interfaceStatus: unknown value {status!r}")
        if protocol not in _LINE_PROTOCOL:
            raise OutputFormatError(f"{where}.lineProtocolStatus: unknown value {protocol!r}")
        bandwidth = _get(entry, "bandwidth", int, where)
        if bandwidth < 0:
            raise OutputFormatError(f"{where}.bandwidth: negative")
        result.append(
            Interface(
                name=name,
                admin_up=status != "disabled",
                oper_up=protocol == "up",
                speed_mbps=bandwidth // 1_000_000 if bandwidth else None,
            )
        )
    return result


def _count(obj: Any, key: str, where: str) -> int:
    value = _get(obj, key, int, where)
    if value < 0:
        raise OutputFormatError(f"{where}.{key}: negative counter")
    return value


def parse_error_counters(text: str) -> list[ErrorCounters]:
    """Error counters from ``show interfaces | json`` (``interfaceCounters`` of each port).

    Interfaces without counters (a Loopback, a Vlan) are left out.
    """
    result = []
    for name, entry in _interfaces(text).items():
        counters = entry.get("interfaceCounters")
        if counters is None:
            continue
        where = f"interfaces.{name}.interfaceCounters"
        detail = _get(counters, "inputErrorsDetail", dict, where)
        result.append(
            ErrorCounters(
                port=name,
                fcs_errors=_count(detail, "fcsErrors", where + ".inputErrorsDetail"),
                symbol_errors=_count(detail, "symbolErrors", where + ".inputErrorsDetail"),
                in_errors=_count(counters, "totalInErrors", where),
                out_errors=_count(counters, "totalOutErrors", where),
                in_discards=_count(counters, "inDiscards", where),
                out_discards=_count(counters, "outDiscards", where),
            )
        )
    return result


def parse_lldp_neighbors(text: str) -> list[LldpNeighbor]:
    """``show lldp neighbors | json`` (the summary table)."""
    data = _load(text)
    rows = _get(data, "lldpNeighbors", list, "show lldp neighbors")
    result = []
    for i, row in enumerate(rows):
        where = f"lldpNeighbors[{i}]"
        result.append(
            LldpNeighbor(
                local_port=_get(row, "port", str, where),
                system_name=_get(row, "neighborDevice", str, where),
                port_id=_get(row, "neighborPort", str, where),
            )
        )
    return result


def _channels(params: dict[str, Any], key: str, where: str) -> dict[str, float]:
    if key not in params:
        return {}
    channels = _get(params[key], "channels", dict, f"{where}.{key}")
    out: dict[str, float] = {}
    for ch, value in channels.items():
        if not (ch == "-" or (ch.isdigit() and int(ch) >= 1)):
            raise OutputFormatError(f"{where}.{key}.channels: bad channel {ch!r}")
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise OutputFormatError(f"{where}.{key}.channels.{ch}: not a number: {value!r}")
        out[ch] = float(value)
    return out


def parse_transceivers(text: str) -> list[Transceiver]:
    """``show interfaces transceiver dom | json``: temperature and per-lane tx/rx power, bias."""
    data = _load(text)
    interfaces = _get(data, "interfaces", dict, "show interfaces transceiver dom")
    result = []
    for name, entry in interfaces.items():
        where = f"interfaces.{name}"
        media = _get(entry, "mediaType", str, where)
        params = _get(entry, "parameters", dict, where)
        temps = _channels(params, "temperature", where + ".parameters")
        tx = _channels(params, "txPower", where + ".parameters")
        rx = _channels(params, "rxPower", where + ".parameters")
        bias = _channels(params, "txBias", where + ".parameters")
        lane_ids = sorted({int(c) for c in (*tx, *rx, *bias) if c != "-"})
        if any(c == "-" for c in (*tx, *rx, *bias)):
            raise OutputFormatError(f"{where}: per-lane parameter without a lane number")
        lanes = tuple(
            LaneDom(
                lane=n, tx_power_dbm=tx.get(str(n)), rx_power_dbm=rx.get(str(n)), tx_bias_ma=bias.get(str(n))
            )
            for n in lane_ids
        )
        result.append(Transceiver(port=name, media_type=media, temperature_c=temps.get("-"), lanes=lanes))
    return result
