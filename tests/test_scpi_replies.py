"""SCPI reply parsing on the driver side: garbage in gives a ParseError, never a wrong value."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import ParseError
from drivers.scpi import parse_bool, parse_error, parse_float, parse_idn

NR3 = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30)
field = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=","), min_size=1, max_size=20
)


@given(finite, st.sampled_from(["{:+.9E}", "{:.6f}", "{:g}", "{:+.15E}"]))
def test_numbers_in_instrument_formats_round_trip(value, fmt):
    text = fmt.format(value)
    assert parse_float("dmm-1", "READ?", text + "\n") == pytest.approx(float(text), rel=1e-12, abs=0)


@given(st.text(max_size=30))
def test_any_reply_is_a_number_of_the_grammar_or_a_parse_error(reply):
    try:
        value = parse_float("dmm-1", "READ?", reply)
    except ParseError as exc:
        assert exc.device == "dmm-1" and exc.operation == "READ?"
        return
    assert NR3.fullmatch(reply.strip()), f"accepted {reply!r}"
    assert math.isinf(value) if abs(float(reply)) == 9.9e37 else abs(value) < 9.9e37


@pytest.mark.parametrize(("reply", "value"), [("+9.90000000E+37", math.inf), ("-9.9E37", -math.inf)])
def test_overload_reads_as_infinity(reply, value):
    assert parse_float("dmm-1", "READ?", reply) == value


@pytest.mark.parametrize("reply", ["nan", "inf", "-inf", "1_000", "+9.91E+37", "1E40", "1,2", "", "V 12"])
def test_non_readings_are_refused(reply):
    with pytest.raises(ParseError):
        parse_float("dmm-1", "READ?", reply)


@given(field, field, field, field)
def test_idn_round_trips(manufacturer, model, serial, firmware):
    ident = parse_idn("dmm-1", f"{manufacturer},{model},{serial},{firmware}\n")
    assert (ident.manufacturer, ident.model, ident.serial, ident.firmware) == (
        manufacturer,
        model,
        serial,
        firmware,
    )


@given(st.text(max_size=60))
def test_idn_garbage_is_a_parse_error(reply):
    try:
        ident = parse_idn("dmm-1", reply)
    except ParseError:
        return
    assert reply.count(",") == 3 and ident.manufacturer and ident.model


@given(st.integers(-999, 999), st.text(st.characters(exclude_characters='"\n\r'), max_size=40))
def test_error_queue_entries_round_trip(code, text):
    assert parse_error("psu-1", f'{code:+d},"{text}"') == (code, text)


@given(st.text(max_size=40))
def test_error_queue_garbage_is_a_parse_error(reply):
    try:
        code, _text = parse_error("psu-1", reply)
    except ParseError:
        return
    assert re.match(r'^\s*[+-]?\d+\s*,\s*"', reply) and isinstance(code, int)


@given(st.text(max_size=10))
def test_booleans_are_exact(reply):
    try:
        value = parse_bool("eload-1", "INP?", reply)
    except ParseError:
        return
    assert reply.strip() in {"1", "+1", "ON", "0", "+0", "OFF"}
    assert value == (reply.strip() in {"1", "+1", "ON"})
