"""Start the Raritan PX simulator in-process (pdu-b of the demo rack) and a driver for it.

Everything runs over real UDP on 127.0.0.1; nothing of pysnmp is mocked.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from drivers.aio import LoopThread
from drivers.raritan import RaritanPx
from rackval.model import Rack
from simulators import raritan_pdu
from tests.snmp_sim_helpers import PduVendor, SimPdu, demo_rack, running_pdu

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


RARITAN = PduVendor(PDU, raritan_pdu.start, RaritanPx)


def running_raritan(
    loop: LoopThread, tmp: Path, *, rack: Rack | None = None, faults: list[dict[str, Any]] | None = None
) -> AbstractContextManager[SimPdu]:
    """The simulated Raritan pdu-b and a :class:`RaritanPx` driver connected to it."""
    return running_pdu(loop, tmp, rack=rack or raritan_rack(), faults=faults, vendor=RARITAN)
