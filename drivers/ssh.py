"""The SSH session layer for switches (paramiko).

One :class:`SshSession` per switch, opened on first use and reused for the run:

- password or key authentication (the key file's content comes as a Secret);
- the host key is verified against a known-hosts file; a host that is not in it is
  refused unless ``accept_new_host_key`` was set explicitly (and then a warning is logged);
- commands run on an ``exec`` channel, or, for devices without one, in an interactive
  shell with prompt detection and paging turned off;
- a timeout on connect, on authentication and on every command;
- typed errors naming the switch and the command (:mod:`drivers.errors`);
- a session that drops is reopened once for a read-only command.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import paramiko

from drivers.base import Secret, Target
from drivers.errors import (
    CommandRejected,
    DeviceAuthError,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeout,
    DeviceUnreachable,
    ParseError,
    SessionDropped,
)
from drivers.switch import OutputFormatError

log = logging.getLogger("rackval.ssh")
T = TypeVar("T")

# how often an idle session's transport thread wakes to look whether it was closed
# (paramiko's default is 0.1 s). Each wake-up needs the GIL from the test thread; nine
# switches' threads at 10 wake-ups a second made ~9,000 of the hall run's ~25,000 thread
# switches (issue #14). Nothing else rests on it: a dropped connection, a command's
# timeout (its channel's own) and close() do not wait for it.
TRANSPORT_POLL_S = 1.0


@dataclass(frozen=True)
class ShellSettings:
    """How to drive a device's interactive CLI."""

    prompt: re.Pattern[str]  # matches the last line when the device waits for input
    setup: tuple[str, ...] = ()  # sent once after login (e.g. "terminal length 0")
    more: re.Pattern[str] = field(default=re.compile(r" ?--More-- ?$"))


class _WarnAndAccept(paramiko.MissingHostKeyPolicy):
    """Accept an unknown host key because the operator asked for it, loudly."""

    def __init__(self, device: str) -> None:
        self.device = device

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        log.warning(
            "%s: accepting unknown SSH host key %s %s for %s (accept_new_host_key is set)",
            self.device,
            key.get_name(),
            key.fingerprint,
            hostname,
        )
        client.get_host_keys().add(hostname, key.get_name(), key)


def load_private_key(text: str) -> paramiko.PKey:
    """A private key from its text (OpenSSH or PEM; Ed25519, ECDSA or RSA)."""
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    raise ValueError("not a supported unencrypted private key (Ed25519, ECDSA, RSA)")


@dataclass(frozen=True)
class SshLogin:
    """How to log in to one switch (built by the switch kind from the rack file)."""

    username: str
    password: Secret | None = None
    key_file: Secret | None = None  # the private key's text, resolved from its reference
    known_hosts: str | None = None  # absolute path
    accept_new_host_key: bool = False
    timeout_s: float = 10.0


class SshSession:
    def __init__(
        self,
        target: Target,
        *,
        mode: str = "exec",
        shell: ShellSettings | None = None,
        rejected: Callable[[str], bool] = lambda output: False,
    ) -> None:
        if mode not in ("exec", "shell"):
            raise ValueError(f"mode must be exec or shell, not {mode!r}")
        if mode == "shell" and shell is None:
            raise ValueError("shell mode needs ShellSettings")
        self.target = target
        self.device = target.name
        self.mode = mode
        self.shell = shell
        self.rejected = rejected
        login: SshLogin = target.settings
        self.username = login.username
        self._password = login.password
        self._key_text = login.key_file
        self.known_hosts = login.known_hosts
        self.accept_new_host_key = login.accept_new_host_key
        self.timeout_s = login.timeout_s
        self._client: paramiko.SSHClient | None = None
        self._chan: paramiko.Channel | None = None  # the interactive shell, in shell mode
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SshSession({self.device} {self.username}@{self.target.host}:{self.target.port})"

    # -- connection ------------------------------------------------------------
    def _connect(self) -> None:
        client = paramiko.SSHClient()
        if self.known_hosts:
            path = Path(self.known_hosts)
            if path.exists():
                client.load_host_keys(str(path))
            elif not self.accept_new_host_key:
                raise DeviceAuthError(self.device, "connect", f"known-hosts file {path} not found")
        else:
            client.load_system_host_keys()
        policy: paramiko.MissingHostKeyPolicy = (
            _WarnAndAccept(self.device) if self.accept_new_host_key else paramiko.RejectPolicy()
        )
        client.set_missing_host_key_policy(policy)
        pkey = None
        if self._key_text is not None:
            try:
                pkey = load_private_key(self._key_text.reveal())
            except ValueError as exc:
                raise DeviceAuthError(self.device, "connect", f"key_file: {exc}") from None
        where = f"{self.target.host}:{self.target.port}"
        try:
            client.connect(
                self.target.host,
                port=self.target.port,
                sock=_open_socket(self.target.host, self.target.port, self.timeout_s),
                username=self.username,
                password=self._password.reveal() if self._password is not None else None,
                pkey=pkey,
                timeout=self.timeout_s,
                auth_timeout=self.timeout_s,
                banner_timeout=self.timeout_s,
                channel_timeout=self.timeout_s,
                look_for_keys=False,
                allow_agent=False,
            )
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise DeviceAuthError(
                self.device,
                "connect",
                f"host key of {where} ({exc.key.get_name()} {exc.key.fingerprint}) does not match "
                "the known-hosts file: the device was replaced or something is impersonating it",
            ) from None
        except paramiko.AuthenticationException:
            client.close()
            raise DeviceAuthError(
                self.device, "login", f"{self.username}@{where} rejected the credentials"
            ) from None
        except TimeoutError:
            client.close()
            raise DeviceTimeout(
                self.device, "connect", f"no answer from {where} in {self.timeout_s:g} s"
            ) from None
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc):
                raise DeviceAuthError(
                    self.device,
                    "connect",
                    f"host key of {where} is not in the known-hosts file "
                    f"{self.known_hosts or '(system)'}; add it after checking its fingerprint, "
                    "or set accept_new_host_key explicitly",
                ) from None
            if "timeout" in str(exc).lower() or "banner" in str(exc).lower():
                raise DeviceTimeout(self.device, "connect", str(exc)) from None
            raise DeviceProtocolError(self.device, "connect", str(exc)) from None
        except OSError as exc:
            client.close()
            raise DeviceUnreachable(self.device, "connect", f"{where}: {exc.strerror or exc}") from None
        transport = client.get_transport()
        if transport is not None:
            transport.sock.settimeout(TRANSPORT_POLL_S)
        self._client = client
        if self.mode == "shell":
            try:
                self._open_shell()
            except BaseException:
                self._drop()
                raise

    def _open_shell(self) -> None:
        assert self._client is not None and self.shell is not None
        transport = self._client.get_transport()
        assert transport is not None
        try:
            chan = transport.open_session(timeout=self.timeout_s)
            chan.get_pty(term="vt100", width=511, height=24)
            chan.invoke_shell()
        except (paramiko.SSHException, OSError) as exc:
            raise SessionDropped(self.device, "open shell", str(exc)) from None
        self._chan = chan
        self._read_to_prompt(chan, "login", time.monotonic() + self.timeout_s)
        for command in self.shell.setup:
            self._shell_command(command)

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):  # closing a broken session
                self._client.close()
        self._client = None
        self._chan = None

    def _active(self) -> bool:
        if self._client is None:
            return False
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            return False
        return self._chan is None or not self._chan.closed

    # -- commands --------------------------------------------------------------
    def run(self, command: str, *, read_only: bool = True) -> str:
        """Run ``command`` and return its output (text, ``\\n`` line ends).

        A dropped session is reopened once when ``read_only``; a write is never retried.
        """
        with self._lock:
            reopened = False
            if self._client is not None and not self._active():
                self._drop()
                reopened = True
            if self._client is None:
                self._connect()
            try:
                return self._run_once(command)
            except SessionDropped:
                self._drop()
                if not read_only or reopened:
                    raise
                log.info("%s: session dropped during %r; reopening once", self.device, command)
            self._connect()
            try:
                return self._run_once(command)
            except SessionDropped:
                self._drop()
                raise
            except DeviceTimeout:
                self._drop()
                raise

    def _run_once(self, command: str) -> str:
        try:
            if self.mode == "shell":
                return self._shell_command(command)
            return self._exec(command)
        except DeviceTimeout:
            self._drop()  # a hung command leaves the session unusable
            raise

    def _exec(self, command: str) -> str:
        assert self._client is not None
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise SessionDropped(self.device, command, "connection closed")
        deadline = time.monotonic() + self.timeout_s
        try:
            chan = transport.open_session(timeout=self.timeout_s)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SessionDropped(self.device, command, f"could not open a channel: {exc}") from None
        try:
            chan.exec_command(command)
            out = self._read_all(chan, command, deadline)
            if not chan.exit_status_ready() and not transport.is_active():
                raise SessionDropped(self.device, command, "connection closed mid-output")
            while not chan.exit_status_ready():
                if time.monotonic() > deadline:
                    raise DeviceTimeout(self.device, command, f"no exit status in {self.timeout_s:g} s")
                if not transport.is_active():
                    raise SessionDropped(self.device, command, "connection closed before exit status")
                time.sleep(0.01)
            status = chan.recv_exit_status()
            if status == -1:  # closed without an exit-status: the connection went away
                raise SessionDropped(self.device, command, "connection closed mid-output")
        except (paramiko.SSHException, EOFError) as exc:
            raise SessionDropped(self.device, command, str(exc)) from None
        finally:
            chan.close()
        text = out.decode("utf-8", errors="replace").replace("\r\n", "\n")
        if status != 0 or self.rejected(text):
            first = next((line for line in text.splitlines() if line.strip()), "")
            raise CommandRejected(self.device, command, f"exit status {status}: {first}".strip())
        return text

    def _read_all(self, chan: paramiko.Channel, command: str, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(self.device, command, f"no complete answer in {self.timeout_s:g} s")
            chan.settimeout(remaining)
            try:
                data = chan.recv(65536)
            except TimeoutError:
                raise DeviceTimeout(
                    self.device, command, f"no complete answer in {self.timeout_s:g} s"
                ) from None
            if not data:
                return b"".join(chunks)
            chunks.append(data)

    def _read_to_prompt(self, chan: paramiko.Channel, command: str, deadline: float) -> str:
        assert self.shell is not None
        buffer = ""
        while True:
            last_line = buffer.rsplit("\n", 1)[-1]
            if self.shell.prompt.search(last_line):
                return buffer
            if self.shell.more.search(last_line):
                chan.send(b" ")  # paging was not turned off: page on
                buffer = buffer[: len(buffer) - len(last_line)]
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(self.device, command, f"no prompt in {self.timeout_s:g} s")
            chan.settimeout(remaining)
            try:
                data = chan.recv(65536)
            except TimeoutError:
                raise DeviceTimeout(self.device, command, f"no prompt in {self.timeout_s:g} s") from None
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise SessionDropped(self.device, command, str(exc)) from None
            if not data:
                raise SessionDropped(self.device, command, "connection closed mid-output")
            buffer += data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "")

    def _shell_command(self, command: str) -> str:
        chan = self._chan
        if chan is None or chan.closed:
            raise SessionDropped(self.device, command, "shell closed")
        try:
            chan.send((command + "\n").encode())
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SessionDropped(self.device, command, str(exc)) from None
        raw = self._read_to_prompt(chan, command, time.monotonic() + self.timeout_s)
        lines = raw.split("\n")
        # the first line is the echo of the command, the last the next prompt
        if lines and lines[0].strip() == command.strip():
            lines = lines[1:]
        text = "\n".join(lines[:-1])
        if text:
            text += "\n"
        if self.rejected(text):
            first = next((line for line in text.splitlines() if line.strip()), "")
            raise CommandRejected(self.device, command, first)
        return text

    def close(self) -> None:
        with self._lock:
            self._drop()


def _open_socket(host: str, port: int, timeout_s: float) -> socket.socket:
    """A TCP connection with Nagle's algorithm off.

    Every command is a few small SSH messages each way (channel open, exec,
    exit status, close); with Nagle on, each waits out the peer's delayed ACK
    (~40 ms), which made every command take ~90 ms whatever the device's own
    latency (OpenSSH batches them into one write; paramiko sends each alone).
    """
    sock = socket.create_connection((host, port), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_parsed(session: SshSession, command: str, parser: Callable[[str], T]) -> T:
    """Run a read-only command and parse its output; a parse problem names switch and command."""
    output = session.run(command, read_only=True)
    try:
        return parser(output)
    except OutputFormatError as exc:
        raise ParseError(session.device, command, str(exc)) from None


__all__ = ["DeviceError", "ShellSettings", "SshSession", "load_private_key", "read_parsed"]
