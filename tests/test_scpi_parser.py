"""The SCPI parser and IEEE 488.2 core of the instrument simulators (no sockets)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.scpi.dmm import Dmm34465A
from simulators.scpi.eload import EloadEL34143A
from simulators.scpi.parser import (
    CommandSet,
    ScpiError,
    compile_header,
    execute_line,
    parse_number,
    split_units,
)
from simulators.scpi.server import Instrument, garble
from simulators.scpi.supply import SupplyE36103B


def _instruments() -> list[Instrument]:
    return [
        Dmm34465A(idn="Keysight Technologies,34465A,MY1,A.03"),
        SupplyE36103B(idn="Keysight Technologies,E36103B,MY2,2.1"),
        EloadEL34143A(idn="Keysight Technologies,EL34143A,MY3,A.01"),
    ]


def _errors(inst: Instrument) -> list[str]:
    out = []
    while True:
        reply = inst.execute("SYST:ERR?")[0]
        if reply.startswith("+0,"):
            return out
        out.append(reply)


def test_short_form_is_the_upper_case_part():
    nodes = compile_header("[SOURce:]VOLTage:PROTection[:LEVel]")
    assert [(n.long, n.short, n.optional) for n in nodes] == [
        ("SOURCE", "SOUR", True),
        ("VOLTAGE", "VOLT", False),
        ("PROTECTION", "PROT", False),
        ("LEVEL", "LEV", True),
    ]


@pytest.mark.parametrize(
    "line",
    ["VOLT 5", "volt 5", "VOLTage 5", "SOUR:VOLT 5", ":source:voltage:level:immediate:amplitude 5"],
)
def test_long_and_short_forms_and_optional_nodes(line):
    supply = SupplyE36103B(idn="x,E36103B,1,1")
    assert supply.execute(line) == []
    assert supply.execute("VOLT?") == ["+5.00000000E+00"]
    assert _errors(supply) == []


@pytest.mark.parametrize("line", ["VOLTA 5", "VOL 5", "VOLTAGES 5", "SOUR:SOUR:VOLT 5", "FOO?"])
def test_partial_or_unknown_mnemonics_are_undefined_headers(line):
    supply = SupplyE36103B(idn="x,E36103B,1,1")
    supply.execute(line)
    assert _errors(supply) == ['-113,"Undefined header"']


def test_compound_commands_keep_the_header_path_and_answer_in_one_message():
    supply = SupplyE36103B(idn="x,E36103B,1,1")
    # after SOUR:VOLT the path is SOUR:, so CURR means SOUR:CURR; common commands do not move it
    assert supply.execute("SOUR:VOLT 3;CURR 0.5;*OPC?;:VOLT?;CURR?") == [
        "1",
        "+3.00000000E+00",
        "+5.00000000E-01",
    ]


def test_an_error_drops_the_rest_of_the_message():
    supply = SupplyE36103B(idn="x,E36103B,1,1")
    assert supply.execute("VOLT 1;BOGUS;VOLT 2") == []
    assert supply.execute("VOLT?") == ["+1.00000000E+00"]
    assert _errors(supply) == ['-113,"Undefined header"']


def test_query_form_of_a_command_only_header_is_undefined():
    supply = SupplyE36103B(idn="x,E36103B,1,1")
    supply.execute("OUTP:PROT:CLE?")
    assert _errors(supply) == ['-113,"Undefined header"']


def test_numeric_suffixes():
    cs = CommandSet()
    cs.add("OUTPut#[:STATe]?", lambda call: str(call.suffixes[0]))
    errors: list[ScpiError] = []
    assert execute_line(cs, "OUTP2?;OUTP?;OUTPUT7:STAT?", errors.append) == ["2", "1", "7"]
    assert errors == []


def test_min_max_def_and_units():
    assert parse_number("MIN", low=0, high=20.6, default=1) == 0
    assert parse_number("maximum", low=0, high=20.6, default=1) == 20.6
    assert parse_number("DEF", low=0, high=20.6, default=1) == 1
    assert parse_number("500 mV", low=0, high=20.6, unit="V") == pytest.approx(0.5)
    assert parse_number("1.2E1", low=0, high=20.6) == 12.0
    with pytest.raises(ScpiError) as info:
        parse_number("21", low=0, high=20.6)
    assert info.value.code == -222
    with pytest.raises(ScpiError) as info:
        parse_number("5 A", low=0, high=20.6, unit="V")
    assert info.value.code == -131
    with pytest.raises(ScpiError) as info:
        parse_number("five", low=0, high=20.6)
    assert info.value.code == -104


def test_quoted_strings_protect_separators():
    assert split_units('FUNC "VOLT;AC";*IDN?') == ['FUNC "VOLT;AC"', "*IDN?"]


def test_data_out_of_range_is_queued_and_the_setting_kept():
    supply = SupplyE36103B(idn="x,E36103B,1,1")
    supply.execute("VOLT 12")
    supply.execute("VOLT 25")
    assert _errors(supply) == ['-222,"Data out of range"']
    assert supply.execute("VOLT?") == ["+1.20000000E+01"]


def test_error_queue_overflow_replaces_the_last_entry_and_cls_clears_it():
    dmm = _instruments()[0]
    for _ in range(25):
        dmm.execute("NOPE")
    errors = _errors(dmm)
    assert len(errors) == 20
    assert errors[:19] == ['-113,"Undefined header"'] * 19
    assert errors[-1] == '-350,"Queue overflow"'
    dmm.execute("NOPE")
    dmm.execute("*CLS")
    assert dmm.execute("SYST:ERR?") == ['+0,"No error"']


def test_event_status_register_bits_read_and_clear():
    dmm = _instruments()[0]
    assert dmm.execute("*ESR?") == ["+128"]  # power-on
    dmm.execute("NOPE")  # command error: bit 5
    dmm.execute("CONF:VOLT:DC 5000")  # execution error: bit 4
    dmm.execute("*OPC")  # operation complete: bit 0
    assert dmm.execute("*ESR?") == ["+49"]
    assert dmm.execute("*ESR?") == ["+0"]


def test_rst_resets_state_but_not_the_error_queue():
    eload = _instruments()[2]
    eload.execute("FUNC VOLT;CURR 5;:INP ON;BAD")
    assert eload.execute("INP?;FUNC?;CURR?") == ["1", "VOLT", "+5.00000000E+00"]
    eload.execute("*RST")
    assert eload.execute("INP?;FUNC?;CURR?") == ["0", "CURR", "+0.00000000E+00"]
    assert _errors(eload) == ['-113,"Undefined header"']


def test_idn_and_no_error_formats():
    dmm = _instruments()[0]
    assert dmm.execute("*IDN?") == ["Keysight Technologies,34465A,MY1,A.03"]
    assert dmm.execute("SYSTem:ERRor:NEXT?") == ['+0,"No error"']


def test_garbled_replies_are_not_parseable_but_still_single_lines():
    for reply in ("+4.80000000E+01", '+0,"No error"', "Keysight Technologies,34465A,MY1,A"):
        bad = garble(reply)
        assert bad != reply and "\n" not in bad
    with pytest.raises(ValueError):
        float(garble("+4.80000000E+01"))


# -- property: any line gets an answer or a queued error, never a crash ------------------

VOCAB = [
    "*IDN?", "*RST", "*CLS", "*OPC?", "*ESR?", "*ESE", "SYST:ERR?", "CONF:VOLT:DC", "CONF?",
    "READ?", "MEAS:VOLT:DC?", "FUNC", "FUNC?", "VOLT", "VOLT?", "CURR", "CURR?", "OUTP",
    "OUTP?", "INP", "INP?", "VOLT:PROT", "VOLT:PROT:TRIP?", "OUTP:PROT:CLE", "MEAS:POW?",
    "APPL", "SENS:VOLT:RANG", "INIT", "FETC?", "MIN", "MAX", "DEF", "ON", "OFF", "AUTO",
]  # fmt: skip
PUNCT = [" ", ";", ":", ",", "?", '"', "'", "*", "#", "1", "-5", "1e99", "12.5", "\t", "(@101)"]
scpi_ish = st.lists(st.sampled_from(VOCAB + PUNCT), max_size=12).map("".join)
lines = st.one_of(scpi_ish, st.text(max_size=60), st.binary(max_size=60).map(lambda b: b.decode("latin-1")))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=lines)
def test_any_line_gets_an_answer_or_a_queued_error(line):
    for inst in _instruments():
        before = len(inst.errors)
        replies = inst.execute(line)
        assert all(isinstance(r, str) and "\n" not in r for r in replies)
        errors_added = len(inst.errors) > before or len(inst.errors) == inst.errors.depth
        if not replies and not errors_added:
            # only commands (no queries) ran without error, or *CLS emptied the queue
            assert "?" not in line.replace("*CLS", "") or "*CLS" in line.upper()
