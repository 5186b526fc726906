"""SCPI program-message parsing for the instrument simulators.

Implements the parts of IEEE 488.2 / SCPI-1999 a real instrument's parser
applies to one line: ``;``-separated message units, common commands
(``*IDN?``), ``:``-separated header trees in long or short form
(``VOLTage`` / ``VOLT``), optional nodes (``[SOURce:]``), numeric suffixes
(``OUTPut2``), the "current path" rule after ``;`` and parameters
(NRf numbers with units, ``MIN``/``MAX``/``DEF``, booleans, strings).

Every problem becomes a :class:`ScpiError` carrying the standard error code and
text, which the server puts in the instrument's error queue. Nothing here may
raise anything else for any input line: that is property-tested.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

# standard SCPI error texts (SCPI-1999 vol. 2, chapter 21)
ERROR_TEXT: dict[int, str] = {
    0: "No error",
    -100: "Command error",
    -101: "Invalid character",
    -102: "Syntax error",
    -103: "Invalid separator",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -112: "Program mnemonic too long",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -121: "Invalid character in number",
    -131: "Invalid suffix",
    -141: "Invalid character data",
    -151: "Invalid string data",
    -200: "Execution error",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -240: "Hardware error",
    -350: "Queue overflow",
    -410: "Query INTERRUPTED",
}


class ScpiError(Exception):
    """A command or execution error, with its SCPI code."""

    def __init__(self, code: int, text: str | None = None) -> None:
        self.code = code
        self.text = text or ERROR_TEXT.get(code, "Error")
        super().__init__(f'{code},"{self.text}"')


@dataclass(frozen=True)
class Node:
    """One mnemonic of a header pattern: ``VOLTage`` has short form ``VOLT``."""

    long: str
    short: str
    optional: bool
    suffix: bool  # accepts a numeric suffix (``OUTPut#``)

    def accepts(self, mnemonic: str, suffix: int | None) -> bool:
        if suffix is not None and not self.suffix:
            return False
        return mnemonic in (self.long, self.short)


_PATTERN_PART = re.compile(r"(\[)?:?([A-Za-z*]+)(#)?:?(\])?")


def compile_header(pattern: str) -> tuple[Node, ...]:
    """``[SOURce:]VOLTage[:LEVel]`` -> nodes. Upper-case letters make the short form."""
    nodes = []
    text = pattern.replace("[", " [").replace("]", "] ").replace(":", " :").split()
    # re-join so each token is one optional or mandatory mnemonic
    tokens: list[str] = []
    buf = ""
    for tok in text:
        buf += tok
        if buf.count("[") == buf.count("]"):
            tokens.append(buf)
            buf = ""
    for tok in tokens:
        m = _PATTERN_PART.fullmatch(tok.replace(" ", ""))
        if m is None:
            raise ValueError(f"bad header pattern {pattern!r} at {tok!r}")
        name = m.group(2)
        short = "".join(c for c in name if c.isupper() or c == "*") or name.upper()
        nodes.append(Node(name.upper(), short, bool(m.group(1)), bool(m.group(3))))
    return tuple(nodes)


@dataclass(frozen=True)
class Call:
    """A parsed, matched command unit, as a handler sees it."""

    header: str  # as sent
    params: tuple[str, ...]
    suffixes: tuple[int, ...]  # numeric suffixes given, 1 where omitted
    query: bool


Handler = Callable[[Call], "str | None"]


@dataclass
class Command:
    pattern: str
    query: bool
    handler: Handler
    nodes: tuple[Node, ...] = ()
    max_params: int = 2

    def __post_init__(self) -> None:
        self.nodes = compile_header(self.pattern)


@dataclass
class CommandSet:
    """An instrument's command tree: header patterns with their handlers."""

    commands: list[Command] = field(default_factory=list)

    def add(self, pattern: str, handler: Handler, *, max_params: int = 2) -> None:
        """Register ``pattern`` (a trailing ``?`` makes it a query)."""
        query = pattern.endswith("?")
        self.commands.append(Command(pattern.rstrip("?"), query, handler, max_params=max_params))

    def find(self, mnemonics: list[tuple[str, int | None]], query: bool) -> tuple[Command, tuple[int, ...]]:
        for cmd in self.commands:
            if cmd.query != query:
                continue
            suffixes = _match(cmd.nodes, mnemonics)
            if suffixes is not None:
                return cmd, suffixes
        raise ScpiError(-113)


def _match(nodes: tuple[Node, ...], mns: list[tuple[str, int | None]]) -> tuple[int, ...] | None:
    """Match input mnemonics against pattern nodes (optional nodes may be left out)."""

    def walk(i: int, j: int) -> tuple[int, ...] | None:
        if j == len(mns):
            return () if all(n.optional for n in nodes[i:]) else None
        if i == len(nodes):
            return None
        node = nodes[i]
        name, suffix = mns[j]
        if node.accepts(name, suffix):
            rest = walk(i + 1, j + 1)
            if rest is not None:
                return (suffix or 1, *rest) if node.suffix else rest
        if node.optional:
            return walk(i + 1, j)
        return None

    return walk(0, 0)


# -- splitting a line -------------------------------------------------------------

_MNEMONIC = re.compile(r"([A-Za-z][A-Za-z_]*?)([0-9]*)")
_COMMON = re.compile(r"\*[A-Za-z]{2,12}\??")
MAX_MNEMONIC = 12


def split_units(line: str) -> list[str]:
    """Split a program message on ``;`` outside quoted strings."""
    units, buf, quote = [], [], ""
    for ch in line:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == ";":
            units.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if quote:
        raise ScpiError(-151)  # unterminated string
    units.append("".join(buf))
    return units


def split_params(text: str) -> tuple[str, ...]:
    """Split the parameter part on ``,`` outside quoted strings."""
    text = text.strip()
    if not text:
        return ()
    params, buf, quote = [], [], ""
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == ",":
            params.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    params.append("".join(buf).strip())
    if any(p == "" for p in params):
        raise ScpiError(-109)  # empty parameter between commas
    return tuple(params)


@dataclass(frozen=True)
class Unit:
    """One message unit split into header parts and parameters (not yet matched)."""

    text: str
    common: bool
    absolute: bool  # header started with ':'
    mnemonics: tuple[tuple[str, int | None], ...]
    query: bool
    params: tuple[str, ...]


def parse_unit(text: str) -> Unit:
    raw = text.strip()
    if not raw:
        raise ScpiError(-102)
    if any((ord(c) < 0x20 and c != "\t") or ord(c) > 0x7E for c in raw):
        raise ScpiError(-101)
    head, _, rest = raw.partition(" ")
    if "\t" in head:
        head, _, more = head.partition("\t")
        rest = more + " " + rest
    params = split_params(rest)
    if head.startswith("*"):
        if not _COMMON.fullmatch(head):
            raise ScpiError(-113 if head[1:].rstrip("?").isalpha() else -102)
        return Unit(raw, True, False, ((head.rstrip("?").upper(), None),), head.endswith("?"), params)
    query = head.endswith("?")
    body = head[:-1] if query else head
    absolute = body.startswith(":")
    if absolute:
        body = body[1:]
    if not body:
        raise ScpiError(-102)
    mnemonics = []
    for part in body.split(":"):
        m = _MNEMONIC.fullmatch(part)
        if m is None:
            raise ScpiError(-102 if not part or not part[0].isalpha() else -113)
        name, digits = m.groups()
        if len(name) > MAX_MNEMONIC:
            raise ScpiError(-112)
        suffix = int(digits) if digits else None
        if suffix is not None and not 1 <= suffix <= 99:
            raise ScpiError(-114)
        mnemonics.append((name.upper(), suffix))
    return Unit(raw, False, absolute, tuple(mnemonics), query, params)


# -- parameters -------------------------------------------------------------------

_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)")
_MULTIPLIER = {"": 1.0, "M": 1e-3, "U": 1e-6, "N": 1e-9, "K": 1e3, "MA": 1e6}
_KEYWORDS = {
    "MIN": "MIN",
    "MINIMUM": "MIN",
    "MAX": "MAX",
    "MAXIMUM": "MAX",
    "DEF": "DEF",
    "DEFAULT": "DEF",
}


def parse_number(
    text: str,
    *,
    low: float,
    high: float,
    default: float | None = None,
    unit: str = "",
) -> float:
    """An NRf parameter (``12``, ``1.2E1``, ``500 mV``, ``MIN``, ``MAX``, ``DEF``) within range."""
    word = text.strip().upper()
    if word in _KEYWORDS:
        kw = _KEYWORDS[word]
        if kw == "MIN":
            return low
        if kw == "MAX":
            return high
        return default if default is not None else low
    m = _NUMBER.fullmatch(text.strip())
    if m is None:
        if word and (word[0].isdigit() or word[0] in "+-."):
            raise ScpiError(-121)
        raise ScpiError(-104)
    value = float(m.group(1))
    suffix = m.group(2).upper()
    if suffix:
        base = unit.upper()
        if not base or not suffix.endswith(base):
            raise ScpiError(-131)
        prefix = suffix[: len(suffix) - len(base)]
        if prefix not in _MULTIPLIER:
            raise ScpiError(-131)
        value *= _MULTIPLIER[prefix]
    if not math.isfinite(value) or value < low or value > high:
        raise ScpiError(-222)
    return value


def parse_bool(text: str) -> bool:
    word = text.strip().upper()
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise ScpiError(-224)


def parse_choice(text: str, choices: dict[str, str]) -> str:
    """Character data: ``choices`` maps every accepted spelling (upper case) to its value."""
    word = text.strip().strip("\"'").upper()
    if word not in choices:
        raise ScpiError(-224)
    return choices[word]


def choices(*patterns: str) -> dict[str, str]:
    """``choices("CURRent", "VOLTage")`` -> accepted long/short spellings -> short form."""
    out: dict[str, str] = {}
    for p in patterns:
        node = compile_header(p)[0]
        out[node.long] = node.short
        out[node.short] = node.short
    return out


def format_nr3(value: float) -> str:
    """Keysight's reading format: ``+4.80000000E+01``."""
    return f"{value:+.8E}"


# -- executing a line -------------------------------------------------------------


def execute_line(
    commands: CommandSet,
    line: str,
    on_error: Callable[[ScpiError], None],
    after: Callable[[Command], None] | None = None,
) -> list[str]:
    """Run every unit of ``line``; returns the query responses, reports errors.

    Like a real parser, an error in one unit drops the rest of the message.
    ``after`` is called with each command that ran (fault injection hooks in there).
    """
    replies: list[str] = []
    path: tuple[tuple[str, int | None], ...] = ()
    try:
        units = split_units(line)
    except ScpiError as exc:
        on_error(exc)
        return replies
    for text in units:
        try:
            unit = parse_unit(text)
            mnemonics = unit.mnemonics
            if not unit.common and not unit.absolute:
                mnemonics = path + mnemonics
            cmd, suffixes = commands.find(list(mnemonics), unit.query)
            if len(unit.params) > cmd.max_params:
                raise ScpiError(-108)
            if not unit.common:
                path = mnemonics[:-1]
            reply = cmd.handler(Call(unit.text, unit.params, suffixes, unit.query))
            if unit.query and reply is not None:
                replies.append(reply)
            if after is not None:
                after(cmd)
        except ScpiError as exc:
            on_error(exc)
            break
    return replies
