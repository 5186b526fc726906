"""Start the APC PDU simulator in-process and build driver targets for it.

Everything runs over real UDP on 127.0.0.1; nothing of pysnmp is mocked.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drivers.aio import LoopThread
from drivers.apc import ApcRpdu2
from drivers.base import Target
from rackval.devices import build_target
from rackval.model import Rack, load_rack
from rackval.secrets import secret_resolver
from simulators import apc_pdu
from simulators.base import SimContext, SimHandle
from simulators.scenario import Fault
from simulators.state import RackState

REPO = Path(__file__).resolve().parents[1]
DEMO_RACK = REPO / "fixtures" / "racks" / "demo.yaml"
PDU = "pdu-a"
V2C_COMMUNITY_ENV = "RACKVAL_TEST_PDU_COMMUNITY"


def demo_rack() -> Rack:
    return load_rack(DEMO_RACK)


def v2c_rack(timeout_s: float = 2.0, retries: int = 1) -> Rack:
    """The demo rack with pdu-a speaking SNMPv2c (community from the environment)."""
    os.environ.setdefault(V2C_COMMUNITY_ENV, "rackval-test-community")
    rack = demo_rack()
    device = rack.devices[PDU]
    snmp = device.snmp.model_copy(
        update={
            "version": "2c",
            "community": f"env:{V2C_COMMUNITY_ENV}",
            "timeout_s": timeout_s,
            "retries": retries,
        }
    )
    devices = dict(rack.devices)
    devices[PDU] = device.model_copy(update={"snmp": snmp})
    copy = rack.model_copy(update={"devices": devices})
    copy._source = rack.source
    return copy


def with_snmp(rack: Rack, **update: Any) -> Rack:
    device = rack.devices[PDU]
    devices = dict(rack.devices)
    devices[PDU] = device.model_copy(update={"snmp": device.snmp.model_copy(update=update)})
    copy = rack.model_copy(update={"devices": devices})
    copy._source = rack.source
    return copy


def pdu_target(rack: Rack, endpoint: dict[str, Any], name: str = PDU) -> Target:
    """What the plugin hands a driver: settings with every secret resolved."""
    return build_target(rack, name, {name: endpoint})


@dataclass(frozen=True)
class PduVendor:
    """Which PDU of the demo rack to simulate, with which simulator and driver."""

    name: str
    start: Callable[[SimContext, str], SimHandle]
    driver: Callable[[Target, LoopThread], Any]


APC = PduVendor(PDU, apc_pdu.start, ApcRpdu2)


class SimPdu:
    """A running simulated PDU plus a driver connected to it."""

    def __init__(
        self,
        rack: Rack,
        loop: LoopThread,
        faults: list[dict[str, Any]],
        tmp: Path,
        vendor: PduVendor | None = None,
    ) -> None:
        vendor = vendor or APC
        self.rack = rack
        self.state = RackState(rack)
        self.ctx = SimContext(
            rack=rack,
            state=self.state,
            faults=[Fault(device=vendor.name, **f) for f in faults],
            latency_s=0.0,
            loop=loop.loop,
            workdir=tmp,
            resolve_secret=secret_resolver(rack.base_dir),
        )
        self.handle: SimHandle = vendor.start(self.ctx, vendor.name)
        self.target = pdu_target(rack, self.handle.endpoint, vendor.name)
        self.driver = vendor.driver(self.target, loop)

    @property
    def port(self) -> int:
        return int(self.handle.endpoint["port"])

    def requests(self) -> int:
        return int(self.handle.stats()["requests"])

    def close(self) -> None:
        self.driver.close()
        self.handle.stop()


@contextmanager
def running_pdu(
    loop: LoopThread,
    tmp: Path,
    *,
    rack: Rack | None = None,
    faults: list[dict[str, Any]] | None = None,
    vendor: PduVendor | None = None,
) -> Iterator[SimPdu]:
    sim = SimPdu(rack or demo_rack(), loop, faults or [], tmp, vendor)
    try:
        yield sim
    finally:
        sim.close()


def require_tool(name: str) -> str:
    """Path of a net-snmp tool; FAIL when services are required (CI), else skip."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} not found (install Debian's 'snmp' package)"
    if os.environ.get("RACKVAL_REQUIRE_SERVICES", "") not in ("", "0"):
        pytest.fail(message)
    pytest.skip(message)
