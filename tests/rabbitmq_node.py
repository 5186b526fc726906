"""A private RabbitMQ node for one test: its own node name, ports, data, logs and Erlang cookie,
so a test can stop and start a real broker without touching the shared one other tests use.

Started as the current user with ``/usr/lib/rabbitmq/bin/rabbitmq-server`` (the
``/usr/sbin`` wrapper would switch to the ``rabbitmq`` user and its cookie); ``HOME``
under the node's directory gives the node and ``rabbitmqctl`` the same fresh cookie.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import require

BIN = Path("/usr/lib/rabbitmq/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_rabbitmq_server() -> None:
    require(
        (BIN / "rabbitmq-server").exists() or shutil.which("rabbitmq-server") is not None,
        "the rabbitmq-server command",
    )


class RabbitNode:
    """``start()``, ``stop()`` (the whole server, data kept), ``start()`` again: same port, same data."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.name = f"rackval-test-{os.getpid()}-{free_port()}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        for d in ("home", "mnesia", "log"):
            (base / d).mkdir(parents=True, exist_ok=True)
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        self.env = dict(
            os.environ,
            HOME=str(base / "home"),
            RABBITMQ_NODENAME=self.name,
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
            RABBITMQ_LOG_BASE=str(base / "log"),
            RABBITMQ_CONFIG_FILE=str(base / "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def _ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "rabbitmqctl"), "-n", self.name, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def accepting(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True
        return False

    def start(self, timeout: float = 60) -> None:
        self.starts += 1
        log = open(self.base / f"server-{self.starts}.log", "wb")  # noqa: SIM115 - the server's for its life
        self.proc = subprocess.Popen(
            [str(BIN / "rabbitmq-server")],
            env=self.env,
            cwd=self.base,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.accepting():  # the AMQP listener opens last in the boot
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"RabbitMQ node {self.name} did not start: see {log.name}")
            time.sleep(0.1)
        done = self._ctl("await_startup", "--timeout", "30")
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl await_startup: {done.stdout}{done.stderr}")

    def stop(self) -> None:
        """A clean stop of the whole server (its Erlang VM exits), data kept for the next start."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self._ctl("stop", timeout=30)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait(10)
        self.proc = None

    def queue_depth(self, queue: str) -> int | None:
        out = self._ctl("list_queues", "name", "messages", "--quiet", "--no-table-headers")
        for line in out.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == queue:
                return int(parts[1])
        return None

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self.kill()
