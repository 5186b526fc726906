"""SCPI instruments over pyvisa: the base every instrument driver builds on.

A target's settings are a :class:`VisaSettings` (from the station or rack file,
resource overlaid by the simulator): ``resource`` (``TCPIP0::host::port::SOCKET``...),
``visa_library`` (``@py`` = pyvisa-py by default; ``""``/``@ivi`` for an
installed vendor VISA), ``timeout_ms``, ``read_termination``, ``write_termination``.

Every command sequence ends by draining the error queue with ``SYST:ERR?``;
an error there raises :class:`InstrumentError` (``-113,"Undefined header"``)
naming the instrument, its resource and the commands. After a timeout the
instrument is considered unresponsive: later calls fail at once with the same
cause (a late reply would otherwise be read as the answer to the next query).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
from dataclasses import dataclass
from typing import Any

import pyvisa
from pyvisa import constants

from drivers.base import Target
from drivers.errors import (
    DeviceError,
    DeviceProtocolError,
    DeviceReportedError,
    DeviceTimeout,
    DeviceUnreachable,
    ParseError,
)

log = logging.getLogger("rackval.drivers.scpi")

_ERROR_REPLY = re.compile(r'^\s*([+-]?\d+)\s*,\s*"(.*)"\s*$')
MAX_ERRORS_DRAINED = 32  # more than any queue depth: a bound, not a loop forever


class InstrumentError(DeviceReportedError):
    """The instrument's error queue held an error after a command sequence."""

    kind = "instrument reported an error"

    def __init__(self, device: str, resource: str, command: str, code: int, text: str) -> None:
        self.code = code
        self.text = text
        self.resource = resource
        self.command = command
        super().__init__(device, f"{command!r} on {resource}", f'{code},"{text}"')


@dataclass(frozen=True)
class InstrumentIdentity:
    manufacturer: str
    model: str
    serial: str
    firmware: str


def parse_idn(device: str, reply: str, operation: str = "*IDN?") -> InstrumentIdentity:
    """``*IDN?``: four comma-separated fields (IEEE 488.2 4.1.3.6)."""
    fields = [f.strip() for f in reply.strip().split(",")]
    if len(fields) != 4 or not all(fields[:2]) or not all(f.isprintable() for f in fields):
        raise ParseError(device, operation, f"not an IEEE 488.2 identification: {reply!r}")
    return InstrumentIdentity(*fields)


def parse_error(device: str, reply: str, operation: str = "SYST:ERR?") -> tuple[int, str]:
    m = _ERROR_REPLY.match(reply)
    if m is None:
        raise ParseError(device, operation, f"not an error queue entry (garbled?): {reply!r}")
    return int(m.group(1)), m.group(2)


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, pyvisa.errors.VisaIOError) and exc.error_code == constants.StatusCode.error_timeout


# IEEE 488.2 NR1/NR2/NR3 (8.7.2-8.7.4): what an instrument sends for a number. Python's
# float() also takes "nan", "inf" and "1_0", none of which is an instrument's answer.
_NUMBER_REPLY = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# SCPI's markers: ±9.9E37 is an overload (the input is beyond the range: read as ±inf,
# which fails any limit), 9.91E37 is "not a number" (no reading at all: an error).
_SCPI_OVERLOAD = 9.9e37
_SCPI_NAN = 9.91e37


def parse_float(device: str, command: str, reply: str) -> float:
    """A numeric reply; ±inf for an overload."""
    text = reply.strip()
    if not _NUMBER_REPLY.fullmatch(text):
        raise ParseError(device, command, f"not a number: {reply!r}")
    value = float(text)
    if abs(value) >= _SCPI_NAN or abs(value) > _SCPI_OVERLOAD:
        raise ParseError(device, command, f"instrument reports no reading ({text})")
    if abs(value) == _SCPI_OVERLOAD:
        return math.copysign(math.inf, value)
    return value


def parse_bool(device: str, command: str, reply: str) -> bool:
    value = reply.strip()
    if value in ("1", "+1", "ON"):
        return True
    if value in ("0", "+0", "OFF"):
        return False
    raise ParseError(device, command, f"not a boolean: {reply!r}")


@dataclass(frozen=True)
class VisaSettings:
    """How to reach one instrument through VISA."""

    resource: str
    visa_library: str = "@py"
    timeout_ms: int = 2000
    read_termination: str = "\n"
    write_termination: str = "\n"


class ScpiInstrument:
    """A SCPI instrument reached through pyvisa. Subclasses add typed methods."""

    kind = "instrument"
    model = ""  # what *IDN? reports as model
    # commands that put the instrument in its safe state (outputs/inputs off)
    SAFE_COMMANDS: tuple[str, ...] = ()

    def __init__(self, target: Target, loop: Any = None) -> None:  # loop: unused (sync I/O)
        self.target = target
        self.name = target.name
        visa: VisaSettings = target.settings
        self.resource_name = visa.resource
        self.visa_library = visa.visa_library
        self.timeout_ms = visa.timeout_ms
        self.read_termination = visa.read_termination
        self.write_termination = visa.write_termination
        self._lock = threading.RLock()
        self._rm: pyvisa.ResourceManager | None = None
        self._res: Any = None
        self._unresponsive: DeviceError | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.resource_name!r})"

    # -- connection --------------------------------------------------------------------
    def _op(self, command: str) -> str:
        return f"{command!r} on {self.resource_name}"

    def _open(self) -> Any:
        if self._res is not None:
            return self._res
        try:
            self._rm = pyvisa.ResourceManager(self.visa_library)
            self._res = self._rm.open_resource(
                self.resource_name,
                read_termination=self.read_termination,
                write_termination=self.write_termination,
                timeout=self.timeout_ms,
                open_timeout=self.timeout_ms,
            )
        except (pyvisa.errors.Error, OSError, ValueError) as exc:
            self._close_quietly()
            raise DeviceUnreachable(self.name, f"open {self.resource_name}", str(exc)) from None
        return self._res

    def _close_quietly(self) -> None:
        # only the resource: pyvisa shares one ResourceManager per VISA library in a
        # process, and closing it would close every other instrument's session too
        if self._res is not None:
            try:
                self._res.close()
            except Exception as exc:  # closing a broken session must not mask the cause
                log.debug("%s: close: %s", self.name, exc)
        self._res = None

    def _raise_if_unresponsive(self) -> None:
        if self._unresponsive is not None:
            err = self._unresponsive
            raise type(err)(err.device, err.operation, f"{err.detail} (earlier; not retried)")

    def _translate(self, exc: Exception, command: str) -> DeviceError:
        if _is_timeout(exc):
            err: DeviceError = DeviceTimeout(
                self.name, self._op(command), f"no answer within {self.timeout_ms} ms"
            )
            self._unresponsive = err
            self._close_quietly()
            return err
        if isinstance(exc, UnicodeDecodeError):
            return DeviceProtocolError(self.name, self._op(command), "reply is not ASCII")
        err = DeviceUnreachable(self.name, self._op(command), str(exc))
        self._close_quietly()
        return err

    def _write(self, command: str) -> None:
        try:
            self._open().write(command)
        except (pyvisa.errors.Error, OSError) as exc:
            raise self._translate(exc, command) from None

    def _query(self, command: str) -> str:
        try:
            return self._open().query(command)
        except (pyvisa.errors.Error, OSError, UnicodeDecodeError) as exc:
            if _is_timeout(exc) and command != "SYST:ERR?":
                self._explain_silence(command)
            raise self._translate(exc, command) from None

    def _explain_silence(self, command: str) -> None:
        """A query the instrument rejected gets no reply: ask its error queue, briefly,
        so a typo reads ``-113,"Undefined header"`` rather than a timeout."""
        res = self._res
        try:
            res.timeout = max(100, self.timeout_ms // 4)
            code, text = parse_error(self.name, res.query("SYST:ERR?"))
        except (pyvisa.errors.Error, OSError, UnicodeDecodeError, ParseError):
            return  # silent or confused: a real timeout
        finally:
            with contextlib.suppress(Exception):
                res.timeout = self.timeout_ms
        if code != 0:
            with contextlib.suppress(DeviceError):
                self._drain(command)  # empty the rest of the queue
            raise InstrumentError(self.name, self.resource_name, command, code, text)

    # -- command sequences -------------------------------------------------------------
    def _drain(self, commands: str) -> None:
        """Read ``SYST:ERR?`` until ``0,"No error"``; raise the first error found."""
        errors: list[tuple[int, str]] = []
        for _ in range(MAX_ERRORS_DRAINED):
            code, text = parse_error(self.name, self._query("SYST:ERR?"), self._op("SYST:ERR?"))
            if code == 0:
                break
            errors.append((code, text))
        if errors:
            code, text = errors[0]
            if len(errors) > 1:
                text += " (+ " + "; ".join(f'{c},"{t}"' for c, t in errors[1:]) + ")"
            raise InstrumentError(self.name, self.resource_name, commands, code, text)

    def send(self, *commands: str) -> None:
        """Write ``commands``, then check the error queue."""
        with self._lock:
            self._raise_if_unresponsive()
            for command in commands:
                self._write(command)
            self._drain("; ".join(commands))

    def ask(self, query: str, *setup: str) -> str:
        """Write ``setup`` commands, send ``query`` and return its reply, then check errors."""
        with self._lock:
            self._raise_if_unresponsive()
            for command in setup:
                self._write(command)
            reply = self._query(query)
            self._drain("; ".join((*setup, query)))
            return reply.strip()

    def ask_float(self, query: str, *setup: str) -> float:
        return parse_float(self.name, self._op(query), self.ask(query, *setup))

    def ask_bool(self, query: str, *setup: str) -> bool:
        return parse_bool(self.name, self._op(query), self.ask(query, *setup))

    # -- IEEE 488.2 ---------------------------------------------------------------------
    def identity(self) -> InstrumentIdentity:
        return parse_idn(self.name, self.ask("*IDN?"), self._op("*IDN?"))

    def reset(self) -> None:
        """``*RST`` then ``*OPC?`` (wait until done)."""
        self.ask("*OPC?", "*RST")

    def clear_status(self) -> None:
        """``*CLS``: clears the error queue and event registers."""
        with self._lock:
            self._raise_if_unresponsive()
            self._write("*CLS")

    def operation_complete(self) -> bool:
        return self.ask("*OPC?") == "1"

    def event_status(self) -> int:
        """``*ESR?`` (reading clears it): bit 5 command error, 4 execution error,
        3 device-dependent error, 2 query error, 0 operation complete."""
        reply = self.ask("*ESR?")
        try:
            return int(reply)
        except ValueError:
            raise ParseError(self.name, self._op("*ESR?"), f"not an integer: {reply!r}") from None

    def errors(self) -> list[tuple[int, str]]:
        """Read and empty the error queue (without raising)."""
        out: list[tuple[int, str]] = []
        with self._lock:
            self._raise_if_unresponsive()
            for _ in range(MAX_ERRORS_DRAINED):
                code, text = parse_error(self.name, self._query("SYST:ERR?"), self._op("SYST:ERR?"))
                if code == 0:
                    break
                out.append((code, text))
        return out

    # -- session -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Identity and the kind-specific state (subclasses extend)."""
        return {"identity": self.identity()}

    def safe_state(self) -> None:
        """Outputs and inputs off. On an unresponsive instrument the commands are still
        sent on a fresh connection, without waiting for a confirmation that cannot come."""
        if not self.SAFE_COMMANDS:
            return
        with self._lock:
            if self._unresponsive is None:
                self.send(*self.SAFE_COMMANDS)
                return
            self._close_quietly()
            try:
                for command in self.SAFE_COMMANDS:
                    self._write(command)
            except DeviceError as exc:
                log.warning("%s: could not send the safe state: %s", self.name, exc)
            log.warning("%s: safe state sent but not confirmed (instrument unresponsive)", self.name)

    def reconnect(self) -> None:
        """Forget an earlier timeout and open a new session on the next command."""
        with self._lock:
            self._close_quietly()
            self._unresponsive = None

    def close(self) -> None:
        """Put the instrument in its safe state, then close the session."""
        with self._lock:
            try:
                if self._res is not None or self._unresponsive is not None:
                    self.safe_state()
            except DeviceError as exc:
                log.warning("%s: safe state at close failed: %s", self.name, exc)
            finally:
                self._close_quietly()


def format_value(value: float) -> str:
    """A number as a SCPI NRf parameter (no locale, no float noise)."""
    return f"{value:.6g}"
