"""SSH server of a simulated switch (paramiko), presenting an EOS-like or SONiC-like CLI.

- listens on 127.0.0.1 (ephemeral port); exec channels and interactive shells (with a
  pty, echo, a prompt, and EOS-style ``--More--`` paging until ``terminal length 0``);
- password and public-key authentication: the rack file's credentials (the
  ``key_file``'s public half, and any key in ``<workdir>/authorized_keys``);
- a fixed Ed25519 host key per switch, derived from the switch's name (the same key
  on every run), written to ``<workdir>/ssh_host_ed25519_key``, with a known-hosts
  file for ``[127.0.0.1]:PORT`` that the plugin hands to the driver;
- every command passes through a :class:`simulators.base.RequestGate`;
- faults: see :mod:`simulators.switch_model` (no_answer: the command never answers;
  drop_session: the connection is closed half-way through the output).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rackval.model import Rack
from simulators import eos_cli, sonic_cli
from simulators.base import RequestGate, SimContext, SimHandle
from simulators.scenario import Fault
from simulators.state import RackState
from simulators.switch_model import IdentityView, PortView, SwitchModel

log = logging.getLogger("rackval.sim.ssh")
PAGE_LINES = 23  # a 24-line terminal, less the --More-- line

Execute = Callable[[str, IdentityView, list[PortView], float], tuple[str, int]]


@dataclass(frozen=True)
class Flavor:
    naming: str
    defaults: dict[str, str]
    execute: Execute
    pages: bool  # pages long output in a shell until "terminal length 0"
    banner: str

    def prompt(self, host: str, user: str) -> str:
        return f"{host}#" if self.naming == "eos" else f"{user}@{host}:~$ "


EOS = Flavor(
    naming="eos",
    defaults={"model": "DCS-7050CX3-32S", "firmware": "4.30.4M"},
    execute=eos_cli.execute,
    pages=True,
    banner="",
)
SONIC = Flavor(
    naming="sonic",
    defaults={"model": "Mellanox-SN2700", "firmware": "SONiC.202311.1"},
    execute=sonic_cli.execute,
    pages=False,
    banner="Linux sonic 6.1.0-11-2-amd64 #1 SMP PREEMPT_DYNAMIC x86_64\r\n"
    "You are on\r\n  ____   ___  _   _ _  ____\r\n / ___| / _ \\| \\ | (_)/ ___|\r\n"
    " \\___ \\| | | |  \\| | | |\r\n  ___) | |_| | |\\  | | |___\r\n |____/ \\___/|_| \\_|_|\\____|\r\n\r\n",
)


def host_key(name: str, workdir: Path) -> paramiko.Ed25519Key:
    """The switch's fixed host key: derived from its name, so it is the same on every run."""
    seed = hashlib.sha256(b"rackval simulated switch host key\0" + name.encode()).digest()
    private = Ed25519PrivateKey.from_private_bytes(seed)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    path = workdir / "ssh_host_ed25519_key"
    path.write_bytes(pem)
    path.chmod(0o600)
    return paramiko.Ed25519Key(filename=str(path))


def _public_key_from_private_text(text: str) -> paramiko.PKey | None:
    import io

    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    return None


class SwitchSim:
    """One simulated switch: its model, credentials and SSH listener."""

    def __init__(self, ctx: SimContext, name: str, flavor: Flavor) -> None:
        self.ctx = ctx
        self.name = name
        self.flavor = flavor
        self.model = SwitchModel(
            ctx.rack, name, ctx.state, ctx.faults, naming=flavor.naming, defaults=flavor.defaults
        )
        device = ctx.rack.devices[name]
        self.username: str = device.ssh.username
        base = ctx.resolve_secret(device.ssh.password) if device.ssh.password else None
        self.password = None if base is None else base + self.model.password_suffix
        self.keys: list[paramiko.PKey] = []
        if device.ssh.key_file:
            key = _public_key_from_private_text(ctx.resolve_secret(device.ssh.key_file))
            if key is not None:
                self.keys.append(key)
        self.gate = RequestGate(latency_s=ctx.latency_s)
        self.key = host_key(name, ctx.workdir)
        self.stopping = threading.Event()
        self.connections = 0
        self.auth_failures = 0
        self._transports: list[paramiko.Transport] = []
        self._lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ctx.host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.known_hosts = ctx.workdir / "known_hosts"
        self.known_hosts.write_text(
            f"[{ctx.host}]:{self.port} {self.key.get_name()} {self.key.get_base64()}\n"
        )
        self._thread = threading.Thread(target=self._serve, name=f"ssh-{name}", daemon=True)
        self._thread.start()

    # -- listener ------------------------------------------------------------------
    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        # paramiko sends each SSH message (data, exit-status, EOF, close) in its own write;
        # with Nagle on, each small one waits out the client's delayed ACK (~40 ms). sshd
        # batches them into one write and has no such stall, so Nagle is off here
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(conn)
        transport.add_server_key(self.key)
        server = _Server(self)
        with self._lock:
            self.connections += 1
            self._transports.append(transport)
        try:
            transport.start_server(server=server)
            while transport.is_active() and not self.stopping.is_set():
                chan = transport.accept(0.5)
                if chan is not None:
                    threading.Thread(
                        target=self._channel, args=(transport, server, chan), daemon=True
                    ).start()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.debug("%s: connection ended: %s", self.name, exc)
        finally:
            with self._lock:
                if transport in self._transports:
                    self._transports.remove(transport)
            transport.close()

    def _channel(self, transport: paramiko.Transport, server: _Server, chan: paramiko.Channel) -> None:
        request = server.wait_request(chan.get_id(), timeout=30.0)
        if request is None:
            chan.close()
            return
        time.sleep(0.005)  # let paramiko send the request's success reply first
        kind, command = request
        try:
            if kind == "exec":
                self._exec(transport, chan, command)
            else:
                status = _Shell(self, transport, chan).run()
                if status is not None:
                    # as sshd does when the login shell exits: exit-status, then EOF/close
                    chan.send_exit_status(status)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            log.debug("%s: channel ended: %s", self.name, exc)
        finally:
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                chan.close()  # the client may already have closed the connection

    # -- commands ------------------------------------------------------------------
    def answer(self, command: str) -> tuple[str, int] | None:
        """Output and exit status of ``command``; None when the hang fault holds it forever."""
        self.gate.serve_sync()
        if self.model.hangs(command):
            log.info("%s: hanging on %r (fault)", self.name, command)
            return None
        return self.flavor.execute(command, self.model.identity, self.model.ports(), self.model.uptime_s())

    def _hang(self, transport: paramiko.Transport) -> None:
        while transport.is_active() and not self.stopping.is_set():
            time.sleep(0.2)

    def deliver(
        self, transport: paramiko.Transport, chan: paramiko.Channel, command: str, output: str
    ) -> bool:
        """Send ``output`` (CRLF in a shell); under drop_session cut the connection half-way."""
        data = output.encode()
        if self.model.drops(command):
            chan.sendall(data[: len(data) // 2])
            log.info("%s: dropping the session during %r (fault)", self.name, command)
            time.sleep(0.05)
            transport.close()
            return False
        chan.sendall(data)
        return True

    def _exec(self, transport: paramiko.Transport, chan: paramiko.Channel, command: str) -> None:
        answer = self.answer(command)
        if answer is None:
            self._hang(transport)
            return
        output, status = answer
        if self.deliver(transport, chan, command, output):
            chan.send_exit_status(status)

    def check_password(self, username: str, password: str) -> bool:
        ok = (
            self.password is not None
            and username == self.username
            and hmac.compare_digest(password.encode(), self.password.encode())
        )
        if not ok:
            self.auth_failures += 1
        return ok

    def check_key(self, username: str, key: paramiko.PKey) -> bool:
        keys = list(self.keys)
        extra = self.ctx.workdir / "authorized_keys"
        if extra.exists():
            for line in extra.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 2:
                    try:
                        keys.append(paramiko.PKey.from_type_string(parts[0], _b64(parts[1])))
                    except (paramiko.SSHException, ValueError):
                        continue
        return username == self.username and any(
            k.get_name() == key.get_name() and k.asbytes() == key.asbytes() for k in keys
        )

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.sock.close()
        with self._lock:
            transports = list(self._transports)
        for t in transports:
            t.close()

    def handle(self) -> SimHandle:
        return SimHandle(
            name=self.name,
            endpoint={"host": self.ctx.host, "port": self.port, "known_hosts": str(self.known_hosts)},
            stop=self.stop,
            stats=lambda: {
                "requests": self.gate.requests,
                "connections": self.connections,
                "auth_failures": self.auth_failures,
            },
            state=self.model.summary,
        )


def _b64(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


class _Server(paramiko.ServerInterface):
    def __init__(self, sim: SwitchSim) -> None:
        self.sim = sim
        self._requests: dict[int, tuple[str, str]] = {}
        self._events: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def _event(self, chanid: int) -> threading.Event:
        with self._lock:
            return self._events.setdefault(chanid, threading.Event())

    def wait_request(self, chanid: int, timeout: float) -> tuple[str, str] | None:
        if not self._event(chanid).wait(timeout):
            return None
        return self._requests.get(chanid)

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_password(self, username: str, password: str) -> int:
        if self.sim.check_password(username, password):
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if self.sim.check_key(username, key):
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, channel, term, width, height, pixelwidth, pixelheight, modes) -> bool:
        return True

    def check_channel_window_change_request(self, channel, width, height, pixelwidth, pixelheight) -> bool:
        return True

    def check_channel_env_request(self, channel, name, value) -> bool:
        return True  # accepted and ignored, as sshd with AcceptEnv would

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self._requests[channel.get_id()] = ("shell", "")
        self._event(channel.get_id()).set()
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self._requests[channel.get_id()] = ("exec", command.decode("utf-8", errors="replace"))
        self._event(channel.get_id()).set()
        return True


class _Shell:
    """A line-oriented interactive CLI on a pty: echo, backspace, prompt, paging."""

    def __init__(self, sim: SwitchSim, transport: paramiko.Transport, chan: paramiko.Channel) -> None:
        self.sim = sim
        self.transport = transport
        self.chan = chan
        self.paging = sim.flavor.pages
        self.prompt = sim.flavor.prompt(sim.name, sim.username)
        self._pending = b""

    def _read_byte(self) -> bytes:
        if not self._pending:
            data = self.chan.recv(1024)
            if not data:
                raise EOFError("client closed the shell")
            self._pending = data
        byte, self._pending = self._pending[:1], self._pending[1:]
        return byte

    def _read_line(self) -> str:
        line = b""
        while True:
            b = self._read_byte()
            if b in (b"\r", b"\n"):
                if b == b"\r" and self._pending.startswith(b"\n"):
                    self._pending = self._pending[1:]
                self.chan.sendall(b"\r\n")
                return line.decode("utf-8", errors="replace")
            if b in (b"\x7f", b"\x08"):
                if line:
                    line = line[:-1]
                    self.chan.sendall(b"\x08 \x08")
                continue
            if b == b"\x04" and not line:
                raise EOFError("Ctrl-D")
            if b == b"\x03":
                self.chan.sendall(b"^C\r\n")
                return ""
            line += b
            self.chan.sendall(b)

    def run(self) -> int | None:
        """Serve the shell; its exit status when it ends by itself (None: the session died)."""
        if self.sim.flavor.banner:
            self.chan.sendall(self.sim.flavor.banner.encode())
        last_status = 0
        while True:
            self.chan.sendall(self.prompt.encode())
            try:
                command = self._read_line().strip()
            except EOFError:
                return last_status  # Ctrl-D / end of input: the shell exits as after "exit"
            sonic = self.sim.flavor.naming == "sonic"
            if command in (("exit", "logout") if sonic else ("exit", "quit", "logout")):
                if sonic:
                    # bash, as a login shell, says so, and exits with the last command's status
                    self.chan.sendall(b"logout\r\n")
                    return last_status
                return 0
            words = command.split()
            if (
                self.sim.flavor.naming == "eos"
                and len(words) == 3
                and words[0] in ("terminal", "term")
                and words[1] in ("length", "len")
                and words[2].isdigit()
            ):
                self.paging = int(words[2]) != 0
            answer = self.sim.answer(command)
            if answer is None:
                self.sim._hang(self.transport)
                return None
            output, last_status = answer
            if not self._send(command, output):
                return None

    def _send(self, command: str, output: str) -> bool:
        lines = output.splitlines()
        if not self.paging or len(lines) <= PAGE_LINES:
            text = "\r\n".join(lines) + ("\r\n" if lines else "")
            return self.sim.deliver(self.transport, self.chan, command, text)
        for start in range(0, len(lines), PAGE_LINES):
            page = lines[start : start + PAGE_LINES]
            self.chan.sendall(("\r\n".join(page) + "\r\n").encode())
            if start + PAGE_LINES >= len(lines):
                break
            self.chan.sendall(b" --More-- ")
            key = self._read_byte()
            self.chan.sendall(b"\r          \r")
            if key in (b"q", b"Q", b"\x03"):
                break
        return True


def _start(ctx: SimContext, name: str, flavor: Flavor) -> SimHandle:
    return SwitchSim(ctx, name, flavor).handle()


def start_eos(ctx: SimContext, name: str) -> SimHandle:
    """Simulate an Arista EOS switch (``driver: arista-eos``)."""
    return _start(ctx, name, EOS)


def start_sonic(ctx: SimContext, name: str) -> SimHandle:
    """Simulate a SONiC switch (``driver: sonic``)."""
    return _start(ctx, name, SONIC)


@contextlib.contextmanager
def switches_alone(
    rack: Rack,
    workdir: Path,
    faults: list[Fault] | None = None,
    state: RackState | None = None,
    latency_s: float = 0.0,
) -> Iterator[dict[str, SimHandle]]:
    """Run only the switch simulators of ``rack`` in this process (no PDUs, no child process).

    For developing and testing the switch side on its own; the simulated rack
    (:mod:`simulators.rack`) is what runs a whole rack.
    """
    from rackval.secrets import secret_resolver

    state = state or RackState(rack)
    starters = {"arista-eos": start_eos, "sonic": start_sonic}
    handles: dict[str, SimHandle] = {}
    try:
        for name, device in rack.devices_of("switch").items():
            ctx = SimContext(
                rack=rack,
                state=state,
                faults=[f for f in (faults or []) if f.device == name],
                latency_s=latency_s,
                loop=None,  # type: ignore[arg-type]  # the SSH simulator runs on threads
                workdir=workdir / name,
                resolve_secret=secret_resolver(rack.base_dir),
            )
            ctx.workdir.mkdir(parents=True, exist_ok=True)
            handles[name] = starters[device.driver](ctx, name)
        yield handles
    finally:
        for handle in handles.values():
            handle.stop()


__all__ = ["host_key", "start_eos", "start_sonic", "switches_alone"]
