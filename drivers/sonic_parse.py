"""Parsers of SONiC's text CLI (sonic-utilities): pure functions from text to typed data.

SONiC prints tables with ``tabulate``: a header line, a line of dash runs (one per
column, two spaces apart), then rows. Cells may contain single spaces ("QSFP28 or
later", "GigabitEthernet 0/2") and may be empty, and columns may be left- or
right-aligned, so a row is split into its words-with-single-spaces and each is put in
the column whose dash run it overlaps. Column sets vary by release (FEC, Vlan...);
parsers look columns up by header name.

Formats: ``show version``, ``show interfaces status`` and ``show lldp table`` as in
/work/shared/device-outputs (sonic-utilities docs and tests). ``show interfaces
counters`` follows sonic-utilities' portstat (IFACE STATE RX_OK RX_BPS RX_UTIL RX_ERR
RX_DRP RX_OVR TX_OK ...; numbers with thousands separators, N/A where unknown; see
sonic-utilities doc/Command-Reference.md and tests/portstat_test.py).
``show interfaces transceiver eeprom --dom`` follows sfputil's rendering
("EthernetN: SFP EEPROM detected", indented "Key: value" lines,
ChannelMonitorValues RXnPower/TXnBias/TXnPower, ModuleMonitorValues Temperature;
"EthernetN: SFP EEPROM Not detected"; see sonic-utilities tests/sfputil_test.py).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right

from drivers.switch import (
    ErrorCounters,
    Interface,
    LaneDom,
    LldpNeighbor,
    OutputFormatError,
    SwitchIdentity,
    Transceiver,
    speed_mbps,
)

_DASHES = re.compile(r"-+")
_CELL = re.compile(r"\S+(?: \S+)*")


def parse_table(text: str, *, what: str) -> list[dict[str, str]]:
    """Rows of a tabulate "simple" table as header -> cell text ('' for an empty cell).

    Lines after the table (a dashed rule, ``Total entries displayed``) end it.
    """
    lines = text.splitlines()
    sep_index = next(
        (
            i
            for i, line in enumerate(lines)
            if line.strip() and set(line.strip()) <= {"-", " "} and "  " in line.strip()
        ),
        None,
    )
    if sep_index is None or sep_index == 0:
        raise OutputFormatError(f"{what}: no table header found")
    spans = [(m.start(), m.end()) for m in _DASHES.finditer(lines[sep_index])]
    headers = _cells(lines[sep_index - 1], spans, what, sep_index - 1)
    if any(not h for h in headers):
        raise OutputFormatError(f"{what}: header line does not match its dashed line")
    rows = []
    for n, line in enumerate(lines[sep_index + 1 :], start=sep_index + 2):
        if not line.strip():
            continue
        if set(line.strip()) == {"-"}:
            break  # the rule above "Total entries displayed"
        cells = _cells(line, spans, what, n)
        rows.append(dict(zip(headers, cells, strict=True)))
    return rows


def _cells(line: str, spans: list[tuple[int, int]], what: str, lineno: int) -> list[str]:
    """The line's words-with-single-spaces, each in the column its dash run overlaps most.

    The dash runs are ordered and disjoint, so the runs a word overlaps are found
    by bisecting their ends: a 64-port counters table has ~17,000 cells, and
    comparing each with every column was most of a SONiC switch's read.
    """
    ends = [end for _start, end in spans]
    cells = [""] * len(spans)
    for m in _CELL.finditer(line):
        first, last = m.start(), m.end()
        best, most = -1, 0
        i = bisect_right(ends, first)  # the first run that ends after the word starts
        while i < len(spans) and spans[i][0] < last:
            overlap = min(last, spans[i][1]) - max(first, spans[i][0])
            if overlap > most:  # the first of equal overlaps wins
                best, most = i, overlap
            i += 1
        if best < 0:
            raise OutputFormatError(f"{what}: line {lineno}: {m.group()!r} is outside every column")
        if cells[best]:
            raise OutputFormatError(f"{what}: line {lineno}: two values in column {best + 1}")
        cells[best] = m.group()
    return cells


def _column(row: dict[str, str], name: str, what: str) -> str:
    if name not in row:
        raise OutputFormatError(f"{what}: no column {name!r} (columns: {', '.join(row)})")
    return row[name]


def parse_version(text: str) -> SwitchIdentity:
    """``show version``: ``Key: value`` lines up to the Docker image table."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("Docker images:"):
            break
        key, sep, value = line.partition(":")
        if sep and key and not key.startswith(" "):
            fields.setdefault(key.strip(), value.strip())
    missing = [k for k in ("SONiC Software Version", "HwSKU") if not fields.get(k)]
    if missing:
        raise OutputFormatError(f"show version: no {', '.join(missing)} line")
    return SwitchIdentity(
        model=fields["HwSKU"],
        serial=fields.get("Serial Number", ""),
        firmware=fields["SONiC Software Version"],
    )


_STATES = {"up": True, "down": False}


def parse_interfaces_status(text: str) -> list[Interface]:
    """``show interfaces status``: physical ports (PortChannels are left out)."""
    what = "show interfaces status"
    result = []
    for row in parse_table(text, what=what):
        name = _column(row, "Interface", what)
        if not name.startswith("Ethernet"):
            continue
        oper, admin = _column(row, "Oper", what), _column(row, "Admin", what)
        if oper not in _STATES or admin not in _STATES:
            raise OutputFormatError(f"{what}: {name}: state {oper!r}/{admin!r} is not up/down")
        speed = _column(row, "Speed", what)
        result.append(
            Interface(
                name=name,
                admin_up=_STATES[admin],
                oper_up=_STATES[oper],
                speed_mbps=None if speed == "N/A" else speed_mbps(speed),
            )
        )
    return result


def parse_lldp_table(text: str) -> list[LldpNeighbor]:
    """``show lldp table`` (the management port ``eth0`` is left out)."""
    what = "show lldp table"
    if not text.lstrip().startswith("Capability codes:"):
        raise OutputFormatError(f"{what}: no 'Capability codes' line")
    rows = parse_table(text, what=what)
    total = re.search(r"^Total entries displayed:\s+(\d+)\s*$", text, re.M)
    if total is None or int(total.group(1)) != len(rows):
        raise OutputFormatError(f"{what}: row count does not match 'Total entries displayed'")
    result = []
    for row in rows:
        port = _column(row, "LocalPort", what)
        device, remote = _column(row, "RemoteDevice", what), _column(row, "RemotePortID", what)
        if not port or not remote:
            raise OutputFormatError(f"{what}: row without LocalPort or RemotePortID: {row}")
        if port == "eth0":
            continue
        result.append(LldpNeighbor(local_port=port, system_name=device, port_id=remote))
    return result


def _counter(value: str, what: str) -> int | None:
    if value == "N/A":
        return None
    digits = value.replace(",", "")
    if not digits.isdigit() or ("," in value and not re.fullmatch(r"\d{1,3}(,\d{3})+", value)):
        raise OutputFormatError(f"{what}: {value!r} is not a counter")
    return int(digits)


def parse_interfaces_counters(text: str) -> list[ErrorCounters]:
    """``show interfaces counters``: RX_ERR (FCS and other receive errors), drops, TX_ERR.

    SONiC's summary does not separate FCS from other receive errors nor count symbol
    errors: RX_ERR is reported as ``fcs_errors`` (and ``in_errors``), ``symbol_errors``
    is None.
    """
    what = "show interfaces counters"
    result = []
    for row in parse_table(text, what=what):
        port = _column(row, "IFACE", what)
        where = f"{what}: {port}"
        rx_err = _counter(_column(row, "RX_ERR", what), where)
        result.append(
            ErrorCounters(
                port=port,
                fcs_errors=rx_err or 0,
                symbol_errors=None,
                in_errors=rx_err,
                out_errors=_counter(_column(row, "TX_ERR", what), where),
                in_discards=_counter(_column(row, "RX_DRP", what), where),
                out_discards=_counter(_column(row, "TX_DRP", what), where),
            )
        )
    return result


_PORT_LINE = re.compile(r"^(\S+): SFP EEPROM (detected|Not detected|not detected)$")
_VALUE = re.compile(r"^(-?(?:\d+(?:\.\d+)?|inf))(dBm|mA|C|Volts)$")
_LANE_KEY = re.compile(r"^(RX|TX)(\d+)(Power|Bias)$")


def _dom_value(text: str, unit: str, where: str) -> float | None:
    if text in ("N/A", "Unknown"):
        return None
    m = _VALUE.match(text)
    if m is None or m.group(2) != unit:
        raise OutputFormatError(f"{where}: {text!r} is not a value in {unit}")
    value = float(m.group(1))
    if math.isnan(value):
        raise OutputFormatError(f"{where}: NaN")
    return value


def parse_transceiver_dom(text: str) -> list[Transceiver]:
    """``show interfaces transceiver eeprom --dom``: one block per port."""
    what = "show interfaces transceiver eeprom --dom"
    blocks: list[tuple[str, bool, list[str]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _PORT_LINE.match(line)
        if m:
            blocks.append((m.group(1), m.group(2) == "detected", []))
        elif line.startswith(" ") and blocks:
            blocks[-1][2].append(line)
        else:
            raise OutputFormatError(f"{what}: unexpected line {line.strip()!r}")
    result = []
    for port, present, lines in blocks:
        if not present:
            if lines:
                raise OutputFormatError(f"{what}: {port}: data under 'Not detected'")
            continue
        result.append(_dom_block(port, lines, f"{what}: {port}"))
    return result


def _dom_block(port: str, lines: list[str], where: str) -> Transceiver:
    section = ""
    identifier = None
    temperature = None
    lanes: dict[int, dict[str, float | None]] = {}
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        key, sep, value = line.strip().partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            raise OutputFormatError(f"{where}: line {line.strip()!r} has no ':'")
        if indent <= 8:
            section = key
            if key == "Identifier":
                identifier = value
            continue
        if section == "ChannelMonitorValues":
            m = _LANE_KEY.match(key)
            if m is None:
                raise OutputFormatError(f"{where}: unknown channel monitor {key!r}")
            direction, lane, kind = m.group(1), int(m.group(2)), m.group(3)
            if lane < 1 or (direction == "RX" and kind == "Bias"):
                raise OutputFormatError(f"{where}: unknown channel monitor {key!r}")
            unit = "mA" if kind == "Bias" else "dBm"
            field = {"RXPower": "rx", "TXPower": "tx", "TXBias": "bias"}[direction + kind]
            lanes.setdefault(lane, {})[field] = _dom_value(value, unit, f"{where}: {key}")
        elif section == "ModuleMonitorValues" and key == "Temperature":
            temperature = _dom_value(value, "C", f"{where}: {key}")
    if identifier is None:
        raise OutputFormatError(f"{where}: no Identifier line")
    return Transceiver(
        port=port,
        media_type=identifier,
        temperature_c=temperature,
        lanes=tuple(
            LaneDom(lane=n, tx_power_dbm=v.get("tx"), rx_power_dbm=v.get("rx"), tx_bias_ma=v.get("bias"))
            for n, v in sorted(lanes.items())
        ),
    )
