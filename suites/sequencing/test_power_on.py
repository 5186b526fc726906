"""Power-on sequencing (destructive): shelves → switches → trays, each step within its time limit.

Every tray is first switched off (ComputerSystem.Reset ForceOff, journaled);
then, in this module's order, each power shelf's feeds are cycled and its
PSUs must come back healthy, each switch must answer, and each tray is
powered on and must reach PowerState On with its host's switch links up.
Every change is journaled before it is made and put back in teardown, even
when a step fails or the run is interrupted (``rackval restore`` finishes
the job after a SIGKILL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from drivers.errors import DeviceError
from rackval.journal import Change
from rackval.kinds import ENDS_LINKS
from rackval.limits import Limit

pytestmark = pytest.mark.destructive
POLL_S = 0.2


def wait_for(condition: Callable[[], bool], timeout_s: float) -> float | None:
    """Seconds until ``condition`` held (a device error counts as not yet), None after the timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if condition():
                return round(time.monotonic() - started, 3)
        except DeviceError:
            pass
        time.sleep(POLL_S)
    return None


def limit_of(limits, name: str) -> Limit:
    return limits.limits.get(name) or Limit(high=60.0, units="s")


def host_links(rack_file, host: str) -> list[tuple[str, str]]:
    """(switch, port) of every planned link between ``host`` and a switch."""
    switches = rack_file.devices_providing(ENDS_LINKS)
    ends = []
    for link in rack_file.cabling:
        (a_dev, a_port), (b_dev, b_port) = link.ends
        if b_dev == host and a_dev in switches:
            ends.append((a_dev, a_port))
        elif a_dev == host and b_dev in switches:
            ends.append((b_dev, b_port))
    return ends


def each_tray(rack, action: Callable[[str], object]) -> list[str]:
    """Run ``action`` on every tray concurrently (BMCs are independent); the errors, as text."""
    names = list(rack.rack.devices_of("bmc"))
    problems: list[str] = []

    def one(name: str) -> None:
        try:
            action(name)
        except DeviceError as exc:
            problems.append(str(exc))

    with ThreadPoolExecutor(max_workers=max(1, min(16, len(names))), thread_name_prefix="sequencing") as pool:
        list(pool.map(one, names))
    return problems


@pytest.fixture(scope="module")
def trays_off(rack) -> Iterator[None]:
    """Every tray off for the sequence (each journaled first); put back as it was afterwards."""
    changes: dict[str, Change] = {}

    def off(name: str) -> None:
        changes[name] = rack.safe_state.begin(name, "power", None)
        rack.driver(name).reset("ForceOff")
        rack.invalidate(name)

    try:
        problems = each_tray(rack, off)
        if problems:
            pytest.fail("could not switch the trays off: " + "; ".join(problems), pytrace=False)
        yield
    finally:
        problems = each_tray(rack, lambda name: name in changes and rack.safe_state.restore(changes[name]))
        if problems:
            pytest.fail("could not restore: " + "; ".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def trays_on_commanded(rack, trays_off) -> dict[str, float]:
    """Reset On sent to every tray at once, after the shelves and switches (first tray test)."""
    sent: dict[str, float] = {}

    def on(name: str) -> None:
        sent[name] = time.monotonic()
        rack.driver(name).reset("On")

    problems = each_tray(rack, on)
    if problems:
        pytest.fail("could not power the trays on: " + "; ".join(problems), pytrace=False)
    return sent


def test_1_shelf_comes_up(power_shelf, rack, restore, measure, limits, trays_off):
    limit = limit_of(limits, "shelf_power_on_s")
    feeds = [f for f in rack.rack.power if f.load == power_shelf.spec.host]
    for feed in feeds:
        restore.change(feed.device, "outlet", feed.index)
        rack.driver(feed.device).set_outlet(feed.index, "off")
    for feed in feeds:
        rack.driver(feed.device).set_outlet(feed.index, "on")
    shelf = rack.driver(power_shelf.device)
    took = wait_for(lambda: all(p.status.healthy for p in shelf.snapshot().psus), limit.high)
    rack.invalidate(power_shelf.device)
    measure("shelf_power_on_s", took, item=power_shelf, units="s")


def test_2_switch_answers(switch, rack, measure, limits, trays_off):
    limit = limit_of(limits, "switch_ready_s")
    took = wait_for(lambda: rack.driver(switch.device).identity() is not None, limit.high)
    measure("switch_ready_s", took, item=switch, units="s")


def test_3_tray_powers_on(bmc, rack, measure, limits, trays_on_commanded):
    tray = rack.driver(bmc.device)
    since = time.monotonic() - trays_on_commanded[bmc.device]
    took = wait_for(lambda: tray.power_state() == "On", limit_of(limits, "tray_power_on_s").high)
    took = round(took + since, 3) if took is not None else None
    rack.invalidate(bmc.device)
    measure("tray_power_on_s", took, item=bmc, units="s")
    link_limit = limit_of(limits, "link_up_s").high
    for switch, port in host_links(rack.rack, bmc.spec.host):

        def up(switch=switch, port=port) -> bool:
            return any(i.name == port and i.oper_up for i in rack.driver(switch).interfaces())

        took = wait_for(up, link_limit)
        measure(
            "link_up_s", took, item=f"{bmc.device}:{switch}/{port}", device=bmc.device, units="s", fail=False
        )
        rack.invalidate(switch)
    measure.verdict()
