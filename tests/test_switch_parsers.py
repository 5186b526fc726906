"""Switch parsers: real captured output, round-trip properties, malformed input.

Round trips render random valid switch state with the simulators' CLI renderers
(written from the vendors' formats, not from the parsers) and parse it back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers import eos_parse, sonic_parse
from drivers.switch import ErrorCounters, Interface, LldpNeighbor, OutputFormatError
from simulators import eos_cli, sonic_cli
from simulators.switch_model import CounterView, IdentityView, OpticView, PortView

SHARED = Path("/work/shared/device-outputs")


def _shared(name: str) -> str:
    path = SHARED / name
    if not path.exists():
        if os.environ.get("RACKVAL_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{path} is missing (RACKVAL_REQUIRE_SERVICES=1)")
        pytest.skip(f"{path} not available")
    return path.read_text()


# -- real captured output ------------------------------------------------------------


def test_eos_show_version_captures():
    ident = eos_parse.parse_version(_shared("eos__show_version__json__napalm_issue810_7010t.json"))
    assert (ident.model, ident.serial, ident.firmware) == ("DCS-7010T-48-R", "SSJ12345678", "4.20.7M")
    veos = eos_parse.parse_version(_shared("eos__show_version__json__napalm_issue90_veos.json"))
    assert (veos.model, veos.serial, veos.firmware) == ("vEOS", "", "4.15.5M")
    ceos = eos_parse.parse_version(_shared("eos__show_version__json__napalm_ceos430.json"))
    assert ceos.model == "cEOSLab" and ceos.firmware.startswith("4.30.0F")


def test_eos_show_interfaces_capture():
    text = _shared("eos__show_interfaces__json__napalm_normal.json")
    interfaces = {i.name: i for i in eos_parse.parse_interfaces(text)}
    assert set(interfaces) == {"Management1", "Ethernet1", "Ethernet2", "Ethernet3", "Ethernet4", "Ethernet5"}
    assert interfaces["Management1"] == Interface("Management1", True, True, 1000)
    assert interfaces["Ethernet1"].speed_mbps is None  # bandwidth 0 on vEOS
    counters = {c.port: c for c in eos_parse.parse_error_counters(text)}
    assert counters["Ethernet1"] == ErrorCounters("Ethernet1", 0, 0, 0, 0, 0, 0)


def test_eos_show_lldp_neighbors_capture():
    neighbors = eos_parse.parse_lldp_neighbors(_shared("eos__show_lldp_neighbors__json__napalm_normal.json"))
    assert neighbors == [
        LldpNeighbor("Ethernet1", "precise64", "0800.274f.332d"),
        LldpNeighbor("Ethernet2", "precise64", "0800.27ca.c5be"),
    ]


def test_sonic_show_version_capture():
    ident = sonic_parse.parse_version(_shared("sonic__show_version__text__sonic_utilities_cmdref.txt"))
    assert (ident.model, ident.serial, ident.firmware) == (
        "Mellanox-SN2700",
        "MT1822K07815",
        "SONiC.HEAD.32-21ea29a",
    )


@pytest.mark.parametrize(
    "name, count, first",
    [
        (
            "sonic__show_interfaces_status__text__sonic_utilities_cmdref.txt",
            3,
            Interface("Ethernet0", True, False, 100_000),
        ),
        (
            "sonic__show_interfaces_status__text__sonic_utilities_cmdref_range.txt",
            5,
            Interface("Ethernet8", False, False, 100_000),
        ),
        (
            "sonic__show_interfaces_status__text__sonic_utilities_intfutil_test.txt",
            10,
            Interface("Ethernet0", True, False, 25_000),
        ),
        (
            "sonic__show_interfaces_status__text__sonic_utilities_multi_asic_all.txt",
            7,
            Interface("Ethernet0", True, True, 40_000),
        ),
    ],
)
def test_sonic_show_interfaces_status_captures(name, count, first):
    interfaces = sonic_parse.parse_interfaces_status(_shared(name))
    assert len(interfaces) == count  # PortChannels left out
    assert interfaces[0] == first


def test_sonic_show_lldp_table_captures():
    cmdref = sonic_parse.parse_lldp_table(_shared("sonic__show_lldp_table__text__sonic_utilities_cmdref.txt"))
    assert cmdref == [
        LldpNeighbor("Ethernet112", "T1-1", "hundredGigE1/2"),
        LldpNeighbor("Ethernet116", "T1-2", "hundredGigE1/2"),
    ]  # eth0 (management, port id with a space) left out
    two = sonic_parse.parse_lldp_table(
        _shared("sonic__show_lldp_table__text__sonic_utilities_lldp_test_2macs.txt")
    )
    assert [n.port_id for n in two] == ["00:00:00:00:00:01", "00:00:00:00:00:02"]
    macsec = sonic_parse.parse_lldp_table(
        _shared("sonic__show_lldp_table__text__sonic_mgmt_macsec_docstring.txt")
    )
    assert len(macsec) == 4 and macsec[3] == LldpNeighbor("Ethernet124", "ARISTA04T1", "Ethernet1")


# -- round trips ----------------------------------------------------------------------

SPEEDS = list(eos_cli.GBPS)
name_text = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,15}", fullmatch=True)
port_id_text = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9/:.-]{0,11}( [0-9]{1,2}/[0-9]{1,2})?", fullmatch=True)
dbm = st.integers(-4000, 800).map(lambda x: x / 100)


@st.composite
def optics(draw) -> OpticView:
    lanes = draw(st.sampled_from([1, 4, 8]))
    return OpticView(
        speed="100G",
        media_type="100GBASE-SR4",
        temperature_c=draw(st.integers(-500, 9000)) / 100,
        voltage_v=draw(st.integers(300, 360)) / 100,
        tx_power_dbm=tuple(draw(dbm) for _ in range(lanes)),
        rx_power_dbm=tuple(draw(dbm) for _ in range(lanes)),
        tx_bias_ma=tuple(draw(st.integers(0, 2000)) / 100 for _ in range(lanes)),
    )


counter = st.integers(0, 10**12)


@st.composite
def ports(draw, naming: str) -> list[PortView]:
    count = draw(st.integers(1, 12))
    result = []
    for i in range(count):
        name = f"Ethernet{i + 1}" if naming == "eos" else f"Ethernet{4 * i}"
        admin = draw(st.booleans())
        oper = admin and draw(st.booleans())  # a port that is shut down is never up
        optic = draw(st.none() | optics())
        result.append(
            PortView(
                name=name,
                index=i + 1,
                speed=draw(st.sampled_from(SPEEDS)),
                admin_up=admin,
                oper_up=oper,
                present=optic is not None,
                neighbor=(draw(name_text), draw(port_id_text)) if oper and draw(st.booleans()) else None,
                counters=CounterView(*(draw(counter) for _ in range(10))),
                optic=optic,
                mac="00:1c:73:00:00:01",
            )
        )
    return result


identities = st.builds(
    IdentityView,
    hostname=name_text,
    model=name_text,
    serial=st.from_regex(r"[A-Z0-9]{0,12}", fullmatch=True),
    firmware=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.-]{0,19}", fullmatch=True),
    mac=st.just("00:1c:73:00:00:01"),
)


def _expected_interfaces(views: list[PortView]) -> list[Interface]:
    return [Interface(p.name, p.admin_up, p.oper_up, eos_cli.GBPS[p.speed] * 1000) for p in views]


def _expected_neighbors(views: list[PortView]) -> list[LldpNeighbor]:
    return [LldpNeighbor(p.name, *p.neighbor) for p in views if p.neighbor]


def _lanes(xcvr) -> list:
    """Per-lane tx, rx, bias, flattened (pytest.approx compares flat sequences only)."""
    return [v for lane in xcvr.lanes for v in (lane.tx_power_dbm, lane.rx_power_dbm, lane.tx_bias_ma)]


def _view_lanes(optic: OpticView) -> list:
    lanes = zip(optic.tx_power_dbm, optic.rx_power_dbm, optic.tx_bias_ma, strict=True)
    return [v for lane in lanes for v in lane]


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(identities)
def test_eos_version_round_trip(ident):
    parsed = eos_parse.parse_version(eos_cli.show_version_json(ident, 100.0))
    assert (parsed.model, parsed.serial, parsed.firmware) == (ident.model, ident.serial, ident.firmware)


@PROPS
@given(ports("eos"))
def test_eos_round_trip(views):
    text = eos_cli.show_interfaces_json(views)
    assert eos_parse.parse_interfaces(text) == _expected_interfaces(views)
    counters = eos_parse.parse_error_counters(text)
    assert [
        (c.port, c.fcs_errors, c.symbol_errors, c.in_errors, c.in_discards, c.out_discards) for c in counters
    ] == [
        (
            p.name,
            p.counters.fcs_errors,
            p.counters.symbol_errors,
            p.counters.in_errors,
            p.counters.in_discards,
            p.counters.out_discards,
        )
        for p in views
    ]
    assert eos_parse.parse_lldp_neighbors(eos_cli.show_lldp_neighbors_json(views)) == _expected_neighbors(
        views
    )
    xcvrs = eos_parse.parse_transceivers(eos_cli.show_transceiver_dom_json(views))
    with_optic = [p for p in views if p.optic]
    assert [x.port for x in xcvrs] == [p.name for p in with_optic]
    for x, p in zip(xcvrs, with_optic, strict=True):
        assert x.temperature_c == p.optic.temperature_c
        assert _lanes(x) == _view_lanes(p.optic)


@PROPS
@given(identities)
def test_sonic_version_round_trip(ident):
    parsed = sonic_parse.parse_version(sonic_cli.show_version(ident, 100.0))
    assert (parsed.model, parsed.serial, parsed.firmware) == (ident.model, ident.serial, ident.firmware)


@PROPS
@given(ports("sonic"))
def test_sonic_round_trip(views):
    assert sonic_parse.parse_interfaces_status(
        sonic_cli.show_interfaces_status(views)
    ) == _expected_interfaces(views)
    lldp = sonic_cli.show_lldp_table(views, ("mgmt", "GigabitEthernet 0/1"))
    assert sonic_parse.parse_lldp_table(lldp) == _expected_neighbors(views)
    counters = sonic_parse.parse_interfaces_counters(sonic_cli.show_interfaces_counters(views))
    assert [(c.port, c.fcs_errors, c.in_discards, c.out_discards, c.out_errors) for c in counters] == [
        (p.name, p.counters.in_errors, p.counters.in_discards, p.counters.out_discards, p.counters.out_errors)
        for p in views
    ]
    xcvrs = sonic_parse.parse_transceiver_dom(sonic_cli.show_transceiver_eeprom_dom(views))
    with_optic = [p for p in views if p.optic]
    assert [x.port for x in xcvrs] == [p.name for p in with_optic]
    for x, p in zip(xcvrs, with_optic, strict=True):
        assert x.temperature_c == pytest.approx(p.optic.temperature_c)
        assert _lanes(x) == pytest.approx(_view_lanes(p.optic))


# -- malformed input: a parse error, never a wrong answer ------------------------------


@PROPS
@given(ports("eos"), st.data())
def test_eos_truncated_json_is_an_error(views, data):
    text = eos_cli.show_interfaces_json(views).rstrip()
    cut = data.draw(st.integers(0, 10**6)) % len(text)  # output length varies (timestamps)
    with pytest.raises(OutputFormatError):
        eos_parse.parse_interfaces(text[:cut])


@PROPS
@given(ports("sonic"), st.data())
def test_sonic_truncated_lldp_table_is_an_error(views, data):
    text = sonic_cli.show_lldp_table(views, ("mgmt", "Gi0/1")).rstrip()
    cut = data.draw(st.integers(0, 10**6)) % len(text)  # output length varies (timestamps)
    with pytest.raises(OutputFormatError):
        sonic_parse.parse_lldp_table(text[:cut])


@pytest.mark.parametrize(
    "parser, text",
    [
        (eos_parse.parse_version, '{"modelName": "x", "version": "4.30"}'),  # no serialNumber
        (eos_parse.parse_version, '["not", "an", "object"]'),
        (
            eos_parse.parse_interfaces,
            '{"interfaces": {"Ethernet1": {"interfaceStatus": "connected", '
            '"lineProtocolStatus": "sideways", "bandwidth": 1}}}',
        ),
        (
            eos_parse.parse_interfaces,
            '{"interfaces": {"Ethernet1": {"interfaceStatus": "connected", '
            '"lineProtocolStatus": "up", "bandwidth": "100G"}}}',
        ),
        (
            eos_parse.parse_error_counters,
            json.dumps(
                {
                    "interfaces": {
                        "Ethernet1": {
                            "interfaceCounters": {
                                "inputErrorsDetail": {"fcsErrors": -1, "symbolErrors": 0},
                                "totalInErrors": 0,
                                "totalOutErrors": 0,
                                "inDiscards": 0,
                                "outDiscards": 0,
                            }
                        }
                    }
                }
            ),
        ),
        (eos_parse.parse_lldp_neighbors, '{"lldpNeighbors": [{"port": "Ethernet1"}]}'),
        (
            eos_parse.parse_transceivers,
            '{"interfaces": {"Ethernet1": {"mediaType": "x", "parameters": '
            '{"rxPower": {"channels": {"1": "low"}}}}}}',
        ),
        (
            eos_parse.parse_transceivers,
            '{"interfaces": {"Ethernet1": {"mediaType": "x", "parameters": '
            '{"rxPower": {"channels": {"0": -1.0}}}}}}',
        ),
        (sonic_parse.parse_version, "Distribution: Debian 9.8\nKernel: 4.9.0\n"),
        (sonic_parse.parse_interfaces_status, "% Invalid input\n"),
        (
            sonic_parse.parse_interfaces_status,
            "Interface  Speed  Oper  Admin\n---------  -----  ----  -----\nEthernet0   100G    up   sure\n",
        ),
        (
            sonic_parse.parse_interfaces_status,
            "Interface  Speed  Oper  Admin\n---------  -----  ----  -----\nEthernet0   100    up     up\n",
        ),
        (sonic_parse.parse_lldp_table, "LocalPort    RemoteDevice\n-----------  ------------\n"),
        (
            sonic_parse.parse_interfaces_counters,
            "IFACE  RX_ERR  RX_DRP  TX_ERR  TX_DRP\n-----  ------  ------  ------  ------\n"
            "Eth0      1,2       0       0       0\n",
        ),
        (
            sonic_parse.parse_transceiver_dom,
            "Ethernet0: SFP EEPROM detected\n        Identifier: QSFP28 or later\n"
            "        ChannelMonitorValues:\n                RX1Power: -1.0mA\n",
        ),
        (sonic_parse.parse_transceiver_dom, "Ethernet0: something else\n"),
    ],
)
def test_malformed_output_is_a_parse_error(parser, text):
    with pytest.raises(OutputFormatError):
        parser(text)


# -- table cells: each word in the column it overlaps most ------------------------------


def _cells_by_comparing_every_column(line: str, spans: list[tuple[int, int]]) -> list[str] | None:
    """The rule _cells implements, by brute force: None where the line is not a row."""
    cells = [""] * len(spans)
    for m in sonic_parse._CELL.finditer(line):
        overlaps = [min(m.end(), end) - max(m.start(), start) for start, end in spans]
        best = max(range(len(spans)), key=lambda i: overlaps[i])
        if overlaps[best] <= 0 or cells[best]:
            return None
        cells[best] = m.group()
    return cells


@st.composite
def _row_and_columns(draw):
    widths = draw(st.lists(st.integers(1, 8), min_size=1, max_size=8))
    gaps = draw(st.lists(st.integers(1, 4), min_size=len(widths), max_size=len(widths)))
    spans, at = [], draw(st.integers(0, 3))
    for width, gap in zip(widths, gaps, strict=True):
        spans.append((at, at + width))
        at += width + gap
    line = draw(st.text(alphabet="ab ", max_size=at + 6))
    return line, spans


@given(_row_and_columns())
@settings(max_examples=400)
def test_a_cell_goes_to_the_column_it_overlaps_most(row):
    line, spans = row
    expected = _cells_by_comparing_every_column(line, spans)
    if expected is None:
        with pytest.raises(OutputFormatError):
            sonic_parse._cells(line, spans, "table", 3)
    else:
        assert sonic_parse._cells(line, spans, "table", 3) == expected
