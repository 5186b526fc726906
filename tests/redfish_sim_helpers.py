"""Start the Redfish simulators in-process (over real HTTPS on 127.0.0.1) for tests."""

from __future__ import annotations

import asyncio
import importlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from rackval.model import Rack, load_rack
from rackval.secrets import secret_resolver
from simulators.base import SimContext, SimHandle
from simulators.scenario import Fault
from simulators.state import RackState
from tests.conftest import ROOT, require

COMPUTE_RACK = ROOT / "fixtures" / "racks" / "demo.yaml"
USER, PASSWORD = "admin", "demo-bmc-password"  # fixtures/secrets/demo.yaml: demo values only
MODULE = {"bmc": "bmc", "power_shelf": "power_shelf", "cdu": "cdu"}


@pytest.fixture(autouse=True, scope="module")
def clean_ca_env() -> Iterator[None]:
    """requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override ``Session.verify`` (a known
    requests behaviour): with either set, a client's own CA file would be ignored. Clear them
    for these tests so the CA each client is given is the one it verifies against."""
    mp = pytest.MonkeyPatch()
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        mp.delenv(var, raising=False)
    yield
    mp.undo()


def compute_rack() -> Rack:
    return load_rack(COMPUTE_RACK)


@dataclass
class RunningSim:
    name: str
    handle: SimHandle
    state: RackState
    rack: Rack
    workdir: Path

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.handle.endpoint['port']}"

    @property
    def ca_file(self) -> str:
        return self.handle.endpoint["ca_file"]

    def session(self, auth: bool = True) -> requests.Session:
        s = requests.Session()
        s.verify = self.ca_file
        if auth:
            s.auth = (USER, PASSWORD)
        return s

    def get(self, path: str, **kw: Any) -> requests.Response:
        with self.session(auth=kw.pop("auth", True)) as s:
            return s.get(self.base_url + path, timeout=kw.pop("timeout", 10), **kw)

    def json(self, path: str) -> dict[str, Any]:
        reply = self.get(path)
        assert reply.status_code == 200, (path, reply.status_code, reply.text)
        return reply.json()


@contextmanager
def running(
    name: str,
    faults: list[Fault] | tuple[Fault, ...] = (),
    state: RackState | None = None,
    rack: Rack | None = None,
    workdir: Path | None = None,
    latency_s: float = 0.0,
) -> Iterator[RunningSim]:
    rack = rack or compute_rack()
    state = state or RackState(rack)
    owned = None
    if workdir is None:
        owned = tempfile.TemporaryDirectory(prefix="rackval-rf-")
        workdir = Path(owned.name)
    device_dir = workdir / name
    device_dir.mkdir(parents=True, exist_ok=True)
    loop = asyncio.new_event_loop()
    ctx = SimContext(
        rack=rack,
        state=state,
        faults=list(faults),
        latency_s=latency_s,
        loop=loop,
        workdir=device_dir,
        resolve_secret=secret_resolver(rack.base_dir),
    )
    module = importlib.import_module(f"simulators.redfish.{MODULE[rack.devices[name].kind]}")
    handle = module.start(ctx, name)
    try:
        yield RunningSim(name, handle, state, rack, workdir)
    finally:
        handle.stop()
        loop.close()
        if owned is not None:
            owned.cleanup()


def require_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        require(False, f"the Python package {name!r}")
