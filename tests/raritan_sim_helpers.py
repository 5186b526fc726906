"""Start the Raritan PX simulator in-process (pdu-b of the demo rack) and a driver for it.

Everything runs over real UDP on 127.0.0.1; nothing of pysnmp is mocked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drivers.aio import LoopThread
from drivers.raritan import RaritanPx
from rackval.devices import build_target
from rackval.model import Rack
from rackval.secrets import secret_resolver
from simulators import raritan_pdu
from simulators.base import SimContext, SimHandle
from simulators.scenario import Fault
from simulators.state import RackState
from tests.snmp_sim_helpers import demo_rack

PDU = "pdu-b"
COMMUNITY_ENV = "RACKVAL_TEST_RARITAN_COMMUNITY"


def raritan_rack(version: str = "3", timeout_s: float = 2.0, retries: int = 1) -> Rack:
    """The demo rack, pdu-b (the Raritan PX) speaking SNMP ``version`` (v1/v2c: community from env)."""
    rack = demo_rack()
    device = rack.devices[PDU]
    assert device.driver == "raritan-px", "the demo rack's pdu-b is the Raritan PX"
    update: dict[str, Any] = {"timeout_s": timeout_s, "retries": retries}
    if version in ("1", "2c"):
        os.environ.setdefault(COMMUNITY_ENV, "rackval-raritan-community")
        update.update(version=version, community=f"env:{COMMUNITY_ENV}")
    devices = dict(rack.devices)
    devices[PDU] = device.model_copy(update={"snmp": device.snmp.model_copy(update=update)})
    copy = rack.model_copy(update={"devices": devices})
    copy._source = rack.source
    return copy


class SimRaritan:
    def __init__(self, rack: Rack, loop: LoopThread, faults: list[dict[str, Any]], tmp: Path) -> None:
        self.rack = rack
        self.state = RackState(rack)
        self.ctx = SimContext(
            rack=rack,
            state=self.state,
            faults=[Fault(device=PDU, **f) for f in faults],
            latency_s=0.0,
            loop=loop.loop,
            workdir=tmp,
            resolve_secret=secret_resolver(rack.base_dir),
        )
        self.handle: SimHandle = raritan_pdu.start(self.ctx, PDU)
        self.target = build_target(rack, PDU, {PDU: self.handle.endpoint})
        self.driver = RaritanPx(self.target, loop)

    @property
    def port(self) -> int:
        return int(self.handle.endpoint["port"])

    def requests(self) -> int:
        return int(self.handle.stats()["requests"])

    def close(self) -> None:
        self.driver.close()
        self.handle.stop()


@contextmanager
def running_raritan(
    loop: LoopThread, tmp: Path, *, rack: Rack | None = None, faults: list[dict[str, Any]] | None = None
) -> Iterator[SimRaritan]:
    sim = SimRaritan(rack or raritan_rack(), loop, faults or [], tmp)
    try:
        yield sim
    finally:
        sim.close()
