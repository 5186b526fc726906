"""Helpers for the factory tests: the real RabbitMQ and PostgreSQL, a fresh database per module,
stations (a simulated rack and a worker each) that are always stopped."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select, text

from rackval.factory.sim import SimStation, make_station, start_rack, start_worker, stop
from tests.conftest import require

BROKER = "amqp://guest:guest@127.0.0.1:5672//"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def require_services() -> None:
    require(port_open(5672), "RabbitMQ on 127.0.0.1:5672")
    require(port_open(5432), "PostgreSQL on 127.0.0.1:5432")


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards; yields its URL."""
    name = f"rv_factory_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Stations:
    """Starts stations for one test and stops every process it started, whatever happens."""

    def __init__(self, workdir: Path, central_url: str) -> None:
        self.workdir = workdir
        self.central_url = central_url
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: dict[str, subprocess.Popen[bytes]] = {}

    def add(
        self, *, start: bool = True, scenarios: list[Path] | None = None, broker: str = BROKER
    ) -> SimStation:
        tag = uuid.uuid4().hex[:8].upper()
        st = make_station(self.workdir, f"T-{tag}", f"RK-T-{tag}")
        self.procs.append(start_rack(st, scenarios))
        if start:
            self.start_worker(st, broker)
        return st

    def start_worker(self, st: SimStation, broker: str = BROKER) -> subprocess.Popen[bytes]:
        proc = start_worker(st, broker, self.central_url)
        self.procs.append(proc)
        self.workers[st.station_id] = proc
        return proc

    def close(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                stop(proc)


def dispatch(st: SimStation, broker: str = BROKER, *args: str) -> str:
    from rackval.factory.dispatch import dispatch as send
    from rackval.factory.dispatch import run_spec

    suites = list(args) or ["power"]
    spec = run_spec(st.serial, suites=suites, sim=True, marker="not destructive")
    return send(st.station_id, spec, broker)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            value = check()
            if value:
                return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(every)


def writer_processes(marker: str) -> list[int]:
    """Pids of the rackval.results.writer_process processes with ``marker`` in their environment.

    A run's writer process outlives a SIGKILL of the run by as long as it takes
    to commit what the run had sent it; a station's run has its run id in its
    environment (RACKVAL_EVENTS).
    """
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"rackval.results.writer_process" not in (proc / "cmdline").read_bytes():
                continue
            if marker.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue  # gone meanwhile
    return found


def central_run(central_url: str, run_id: str) -> Any:
    """The central runs row of ``run_id`` with its synced flag, or None."""
    from rackval.factory.tables import sync_marks
    from rackval.results import schema as s

    engine = create_engine(central_url)
    try:
        # one statement, so one snapshot: two reads could see the mark done by a copy that
        # committed between them, next to the run row as it was before that copy
        query = (
            select(s.runs)
            .join(sync_marks, sync_marks.c.run_id == s.runs.c.run_id)
            .where(s.runs.c.run_id == run_id, sync_marks.c.done)
        )
        if not inspect(engine).has_table(s.runs.name):
            return None  # no worker has reached the central database yet: no run there
        with engine.connect() as conn:
            return conn.execute(query).one_or_none()
    finally:
        engine.dispose()


def counts(url: str, run_id: str) -> tuple[int, int, int, int]:
    """tests, measurements, distinct test nodeids, distinct (nodeid, name, timestamp) measurements."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            q = lambda sql: conn.execute(text(sql), {"r": run_id}).scalar()  # noqa: E731
            return (
                q("select count(*) from tests where run_id = :r"),
                q("select count(*) from measurements where run_id = :r"),
                q("select count(distinct nodeid) from tests where run_id = :r"),
                q(
                    "select count(*) from (select distinct nodeid, name, timestamp from measurements"
                    " where run_id = :r) x"
                ),
            )
    finally:
        engine.dispose()


class Proxy:
    """A TCP proxy (to PostgreSQL or RabbitMQ) that a test can cut (closing every connection) and reopen."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.open.clear()
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.conns.clear()

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


def rackval(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m rackval ARGS``, its output captured (wide: no wrapped status lines)."""
    return subprocess.run(
        [sys.executable, "-m", "rackval", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "250"},
    )
