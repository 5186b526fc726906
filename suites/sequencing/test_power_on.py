"""Power-on sequencing (destructive): shelves → switches → trays, each step within its time limit.

Every tray is switched off (ComputerSystem.Reset ForceOff), then, in order:
each power shelf's outlets are cycled and its PSUs must come back healthy;
every switch must answer; every tray is powered on and must reach
PowerState On, and the switch links of its host must come up. Each change
is journaled first and put back in teardown (``restore``), even when a step
fails or the run is interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from drivers.errors import DeviceError
from rackval.kinds import ENDS_LINKS
from rackval.limits import Limit

POLL_S = 0.2


def _wait(condition: Callable[[], bool], timeout_s: float) -> float | None:
    """Seconds until ``condition`` held (device errors count as not yet), or None after the timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if condition():
                return time.monotonic() - started
        except DeviceError:
            pass
        time.sleep(POLL_S)
    return None


def _limit_s(limits, name: str) -> float:
    limit = limits.get(name)
    return float(limit.high) if limit is not None and limit.high is not None else 60.0


def _host_links(rack_file, host: str) -> list[tuple[str, str]]:
    switches = rack_file.devices_providing(ENDS_LINKS)
    ends = []
    for link in rack_file.cabling:
        (a_dev, a_port), (b_dev, b_port) = link.ends
        if b_dev == host and a_dev in switches:
            ends.append((a_dev, a_port))
        elif a_dev == host and b_dev in switches:
            ends.append((b_dev, b_port))
    return ends


def _port_up(rack, switch: str, port: str) -> bool:
    interface = next((i for i in rack.driver(switch).interfaces() if i.name == port), None)
    return interface is not None and interface.oper_up


@pytest.mark.destructive
def test_power_on_sequence(rack, restore, measure, limits):
    rack_file = rack.rack
    trays = rack_file.devices_of("bmc")
    shelves = rack_file.devices_of("power_shelf")
    if not trays:
        pytest.skip("the rack file has no trays (bmc devices) to sequence")
    for name in trays:
        restore.change(name, "power", None)
        rack.driver(name).reset("ForceOff")
        rack.invalidate(name)

    shelf_limit = _limit_s(limits, "shelf_power_on_s")
    for name, shelf in shelves.items():
        feeds = [f for f in rack_file.power if f.load == shelf.host]
        for feed in feeds:
            restore.change(feed.device, "outlet", feed.index)
            rack.driver(feed.device).set_outlet(feed.index, "off")
        for feed in feeds:
            rack.driver(feed.device).set_outlet(feed.index, "on")
        took = _wait(
            lambda n=name: all(p.status.healthy for p in rack.driver(n).snapshot().psus), shelf_limit
        )
        measure("shelf_power_on_s", took, item=name, device=name, units="s", limit=Limit(high=shelf_limit))

    switch_limit = _limit_s(limits, "switch_ready_s")
    for name in rack_file.devices_providing(ENDS_LINKS):
        took = _wait(lambda n=name: rack.driver(n).identity() is not None, switch_limit)
        measure("switch_ready_s", took, item=name, device=name, units="s", limit=Limit(high=switch_limit))

    tray_limit, link_limit = _limit_s(limits, "tray_power_on_s"), _limit_s(limits, "link_up_s")
    for name in trays:
        rack.driver(name).reset("On")
    for name, tray in trays.items():
        took = _wait(lambda n=name: rack.driver(n).power_state() == "On", tray_limit)
        measure("tray_power_on_s", took, item=name, device=name, units="s", limit=Limit(high=tray_limit))
        for switch, port in _host_links(rack_file, tray.host):
            took = _wait(lambda s=switch, p=port: _port_up(rack, s, p), link_limit)
            where = f"{switch}/{port}"
            measure(
                "link_up_s",
                took,
                item=where,
                device=switch,
                units="s",
                limit=Limit(high=link_limit),
                fail=False,
            )
        rack.invalidate(name)
    measure.verdict()
