"""A SCPI instrument served over raw TCP (VISA ``TCPIP0::host::port::SOCKET``).

:class:`Instrument` holds what every IEEE 488.2 instrument has (error queue,
standard event status register, ``*IDN?``/``*RST``/``*CLS``/``*OPC``/``*ESR?``,
``SYSTem:ERRor?``); a model module adds its own commands and state.
:func:`serve` runs it on a threaded TCP server, one line per program message,
with the scenario's faults:

``no_answer`` (``after``: requests answered first, default 0)
    the instrument reads commands and never answers again.
``garbled`` (``after``)
    answers are corrupted on the wire (still newline-terminated).
``error_on`` (``command``: a header in any form, ``code``/``message``: the error)
    the command runs, and the instrument also queues an error for it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulators.base import RequestGate, SimContext, SimHandle
from simulators.scenario import Fault, check_fault_params
from simulators.scpi.parser import (
    Call,
    Command,
    CommandSet,
    ScpiError,
    execute_line,
    parse_number,
    parse_unit,
)

log = logging.getLogger("rackval.sim.scpi")

ERROR_QUEUE_DEPTH = 20  # Keysight Truevolt / E36100 / EL30000 keep 20 errors
MAX_LINE = 64 * 1024

# standard event status register bits (IEEE 488.2 11.5.1)
ESR_OPC, ESR_QYE, ESR_DDE, ESR_EXE, ESR_CME, ESR_PON = 1, 4, 8, 16, 32, 128


def esr_bit(code: int) -> int:
    if -199 <= code <= -100:
        return ESR_CME
    if -299 <= code <= -200:
        return ESR_EXE
    if -499 <= code <= -400:
        return ESR_QYE
    return ESR_DDE


class ErrorQueue:
    """SCPI error queue: FIFO; when full, the last entry becomes ``-350,"Queue overflow"``."""

    def __init__(self, depth: int = ERROR_QUEUE_DEPTH) -> None:
        self.depth = depth
        self._items: deque[tuple[int, str]] = deque()

    def push(self, code: int, text: str) -> None:
        if len(self._items) < self.depth:
            self._items.append((code, text))
        else:
            self._items[-1] = (-350, "Queue overflow")

    def pop(self) -> tuple[int, str]:
        return self._items.popleft() if self._items else (0, "No error")

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def format_error(code: int, text: str) -> str:
    """Keysight's format: ``-113,"Undefined header"`` and ``+0,"No error"``."""
    return f'{code:+d},"{text}"' if code == 0 else f'{code},"{text}"'


@dataclass
class Instrument:
    """IEEE 488.2 core of a simulated instrument; models subclass and add commands."""

    idn: str  # "Keysight Technologies,34465A,MY59001234,A.03.01-..."
    commands: CommandSet = field(default_factory=CommandSet)
    errors: ErrorQueue = field(default_factory=ErrorQueue)
    esr: int = ESR_PON
    ese: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)
    error_on: list[tuple[Command, int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        c = self.commands
        c.add("*IDN?", lambda call: self.idn, max_params=0)
        c.add("*RST", lambda call: self.reset(), max_params=0)
        c.add("*CLS", lambda call: self.clear_status(), max_params=0)
        c.add("*OPC", lambda call: self._set_esr(ESR_OPC), max_params=0)
        c.add("*OPC?", lambda call: "1", max_params=0)
        c.add("*WAI", lambda call: None, max_params=0)
        c.add("*TST?", lambda call: "+0", max_params=0)
        c.add("*ESR?", lambda call: self._read_esr(), max_params=0)
        c.add("*ESE", self._set_ese, max_params=1)
        c.add("*ESE?", lambda call: f"{self.ese:+d}", max_params=0)
        c.add("*STB?", lambda call: f"{self._stb():+d}", max_params=0)
        c.add("SYSTem:ERRor[:NEXT]?", lambda call: format_error(*self.errors.pop()), max_params=0)
        c.add("SYSTem:VERSion?", lambda call: "1999.0", max_params=0)
        self.add_commands(c)
        self.reset()

    # -- for models ----------------------------------------------------------------
    def add_commands(self, commands: CommandSet) -> None:
        """Register the model's own commands."""

    def reset(self) -> None:
        """``*RST``: the model's power-on settings (the error queue is kept, per 488.2)."""

    def snapshot(self) -> dict[str, Any]:
        """The simulator's own view of its state (for the control port)."""
        return {}

    # -- status ----------------------------------------------------------------------
    def report(self, error: ScpiError) -> None:
        self.errors.push(error.code, error.text)
        self.esr |= esr_bit(error.code)

    def clear_status(self) -> None:
        self.errors.clear()
        self.esr = 0

    def _set_esr(self, bit: int) -> None:
        self.esr |= bit

    def _read_esr(self) -> str:
        value, self.esr = self.esr, 0
        return f"{value:+d}"

    def _set_ese(self, call: Call) -> None:
        if not call.params:
            raise ScpiError(-109)
        self.ese = int(parse_number(call.params[0], low=0, high=255))

    def _stb(self) -> int:
        stb = 4 if len(self.errors) else 0  # bit 2: error/event queue not empty
        if self.esr & self.ese:
            stb |= 32
        return stb | (64 if stb else 0)

    # -- one line --------------------------------------------------------------------
    def execute(self, line: str) -> list[str]:
        with self.lock:
            return execute_line(self.commands, line, self._on_error, self._after_unit)

    def _on_error(self, error: ScpiError) -> None:
        self.report(error)

    def _after_unit(self, command: Command) -> None:
        for faulty, code, text in self.error_on:
            if command is faulty:
                self.report(ScpiError(code, text))


def garble(reply: str) -> str:
    """Corrupt a reply the way a bad cable or a confused firmware does (deterministically)."""
    table = str.maketrans('0123456789,.+-E"', "?#~!%&*$@^=/|\\{;")
    return reply[::-1].translate(table) or "\x7f"


@dataclass
class Faults:
    no_answer_after: int | None = None
    garbled_after: int | None = None


def apply_faults(instrument: Instrument, faults: list[Fault], extra: Callable[[Fault], bool]) -> Faults:
    """Configure the SCPI-level faults; ``extra`` handles (and returns True for) other kinds."""
    out = Faults()
    for fault in faults:
        if fault.kind == "no_answer":
            out.no_answer_after = check_fault_params(fault, {"after": int}).get("after", 0)
        elif fault.kind == "garbled":
            out.garbled_after = check_fault_params(fault, {"after": int}).get("after", 0)
        elif fault.kind == "error_on":
            p = check_fault_params(fault, {"command": str, "code": int, "message": str})
            if "command" not in p:
                raise _config_error(fault, "needs command (a SCPI header)")
            try:
                unit = parse_unit(p["command"])
                command, _ = instrument.commands.find(list(unit.mnemonics), unit.query)
            except ScpiError as exc:
                raise _config_error(fault, f"{p['command']!r} is not a command of this instrument") from exc
            code = p.get("code", -240)
            instrument.error_on.append((command, code, p.get("message", "Hardware error")))
        elif not extra(fault):
            raise _config_error(fault, "unknown fault kind for a SCPI instrument")
    return out


def _config_error(fault: Fault, message: str) -> Exception:
    from rackval.errors import ConfigError

    return ConfigError(f"scenario: fault {fault.kind} on {fault.device}: {message}")


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        srv = self.server
        with srv.conn_lock:
            srv.connections.add(self.connection)
        try:
            while True:
                line = self.rfile.readline(MAX_LINE)
                if not line:
                    return
                self._serve(line)
        except (ConnectionError, OSError):
            return
        finally:
            with srv.conn_lock:
                srv.connections.discard(self.connection)

    def _serve(self, raw: bytes) -> None:
        srv = self.server
        srv.gate.serve_sync()
        n = srv.gate.requests
        text = raw.decode("ascii", errors="replace").rstrip("\r\n")
        if srv.faults.no_answer_after is not None and n > srv.faults.no_answer_after:
            return  # swallowed: the instrument has stopped answering
        try:
            replies = srv.instrument.execute(text)
        except Exception:  # a simulator bug must not kill the connection silently
            log.exception("%s: error executing %r", srv.name, text)
            srv.instrument.report(ScpiError(-200))
            replies = []
        if not replies:
            return
        reply = ";".join(replies)
        if srv.faults.garbled_after is not None and n > srv.faults.garbled_after:
            reply = garble(reply)
        self.wfile.write(reply.encode("ascii", errors="replace") + b"\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        addr: tuple[str, int],
        name: str,
        instrument: Instrument,
        gate: RequestGate,
        faults: Faults,
    ):
        self.name = name
        self.instrument = instrument
        self.gate = gate
        self.faults = faults
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def close_all(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


SHUTDOWN_POLL_S = 0.05


def serve(
    ctx: SimContext,
    name: str,
    instrument: Instrument,
    extra_faults: Callable[[Fault], bool] | None = None,
) -> SimHandle:
    """Serve ``instrument`` on 127.0.0.1 (ephemeral port) and return its handle."""
    faults = apply_faults(instrument, ctx.faults, extra_faults or (lambda f: False))
    gate = RequestGate(latency_s=ctx.latency_s)
    server = _Server((ctx.host, 0), name, instrument, gate, faults)
    # a short poll: shutdown() waits for the serving loop's next poll (0.5 s by default)
    thread = threading.Thread(
        target=server.serve_forever, args=(SHUTDOWN_POLL_S,), name=f"scpi-{name}", daemon=True
    )
    thread.start()
    port = server.server_address[1]

    def stop() -> None:
        server.shutdown()
        server.close_all()
        server.server_close()
        thread.join(timeout=5)

    def state() -> dict[str, Any]:
        with instrument.lock:
            return {**instrument.snapshot(), "errors_queued": len(instrument.errors)}

    return SimHandle(
        name=name,
        endpoint={
            "host": ctx.host,
            "port": port,
            "resource": f"TCPIP0::{ctx.host}::{port}::SOCKET",
        },
        stop=stop,
        stats=lambda: {"requests": gate.requests},
        state=state,
    )
