"""Outlet switching checks, run concurrently across PDUs and one outlet at a time per PDU.

Each outlet is switched off, observed, switched back on and observed; the
change is journaled before it is made (:class:`rackval.safestate.SafeState`) and
the outlet is put back to its prior state in a ``finally`` (a failure, Ctrl-C or SIGTERM still restores it).
PDUs work in parallel; never two changes on one PDU at once. When the run is
interrupted, each PDU finishes (and restores) the outlet it is on and starts
no other.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from drivers.errors import DeviceError
from drivers.pdu import OutletReading
from rackval.parallel import each_in_parallel
from rackval.session import RackSession

POLL_S = 0.1


@dataclass(frozen=True)
class SwitchObservation:
    after_off: OutletReading
    off_seconds: float
    after_on: OutletReading
    on_seconds: float


def _wait_for(pdu, index: int, state: str, timeout_s: float) -> tuple[OutletReading, float]:
    started = time.monotonic()
    reading = pdu.outlet(index)
    while reading.state != state and time.monotonic() - started < timeout_s:
        time.sleep(POLL_S)
        reading = pdu.outlet(index)
    return reading, time.monotonic() - started


def switch_and_observe(session: RackSession, device: str, index: int, timeout_s: float) -> SwitchObservation:
    """Switch one outlet off and on again; always leave it as it was."""
    pdu = session.driver(device)
    change = session.safe_state.begin(device, "outlet", index)
    try:
        pdu.set_outlet(index, "off")
        after_off, off_s = _wait_for(pdu, index, "off", timeout_s)
        pdu.set_outlet(index, "on")
        after_on, on_s = _wait_for(pdu, index, "on", timeout_s)
    finally:
        session.safe_state.restore(change)
    return SwitchObservation(after_off, off_s, after_on, on_s)


def switch_all(
    session: RackSession, outlets: list[tuple[str, int]], timeout_s: float
) -> dict[tuple[str, int], SwitchObservation | DeviceError]:
    """Observe every (device, outlet): PDUs in parallel, each PDU's outlets in order."""
    by_pdu: dict[str, list[int]] = defaultdict(list)
    for device, index in outlets:
        by_pdu[device].append(index)
    results: dict[tuple[str, int], SwitchObservation | DeviceError] = {}

    interrupted = threading.Event()

    def one_pdu(device: str) -> None:
        for index in by_pdu[device]:
            if interrupted.is_set():
                return
            try:
                results[(device, index)] = switch_and_observe(session, device, index, timeout_s)
            except DeviceError as exc:
                results[(device, index)] = exc

    # each worker restores the outlet it is on before it returns, and all have returned
    # before an interrupt leaves here (rackval.parallel)
    each_in_parallel(one_pdu, by_pdu, "switching", interrupted=interrupted)
    return results
