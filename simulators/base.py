"""The contract between the simulated rack and one device simulator.

A simulator module exposes ``start(ctx: SimContext, name: str) -> SimHandle``,
registered under the entry-point group ``rackval.simulators`` by *driver name*
(the rack file's ``driver:``), so a vendor package can add its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rackval.model import Rack
from simulators.scenario import Fault
from simulators.state import RackState


@dataclass
class SimContext:
    rack: Rack
    state: RackState
    faults: list[Fault]  # this device's faults only
    latency_s: float  # added to every request this device serves
    loop: asyncio.AbstractEventLoop  # running in a background thread
    workdir: Path  # private scratch directory (host keys, known_hosts...)
    resolve_secret: Callable[[str], str]  # credential reference -> value
    host: str = "127.0.0.1"
    station: Any = None  # rackval.station.Station wiring instruments to the rack, if any


@dataclass
class SimHandle:
    name: str
    endpoint: dict[str, Any]  # at least host and port; e.g. known_hosts for SSH
    stop: Callable[[], None]
    stats: Callable[[], dict[str, Any]] = lambda: {}
    state: Callable[[], dict[str, Any]] = lambda: {}


@dataclass
class RequestGate:
    """Serves one request at a time with a fixed added latency, and counts requests.

    Real management controllers answer one request at a time; the latency makes
    a simulator's timing behave like a device's for benchmarks.
    """

    latency_s: float = 0.0
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _alock: asyncio.Lock | None = None

    def serve_sync(self) -> None:
        """Call inside the per-request critical section of a threaded server."""
        with self._lock:
            self.requests += 1
            if self.latency_s:
                time.sleep(self.latency_s)

    async def serve_async(self) -> None:
        if self._alock is None:
            self._alock = asyncio.Lock()
        async with self._alock:
            self.requests += 1
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
