"""Power-on sequencing (destructive): shelves → switches → trays, each step within its time limit.

Every tray is first switched off (ComputerSystem.Reset ForceOff, journaled);
then, in this module's order, each power shelf's feeds are cycled and its
PSUs must come back healthy, each switch must answer, and each tray is
powered on and must reach PowerState On with its host's switch links up
(links through a switch this run found unusable are not checked there: that
switch's own tests fail and say why).
Every change is journaled before it is made and put back in teardown, even
when a step fails or the run is interrupted (``rackval restore`` finishes
the job after a SIGKILL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from drivers.errors import DeviceAuthError, DeviceError
from rackval.journal import Change
from rackval.kinds import ENDS_LINKS
from rackval.limits import Limit
from rackval.parallel import each_in_parallel

pytestmark = pytest.mark.destructive
POLL_S = 0.2


def wait_for(rack, device: str, condition: Callable[[], bool], timeout_s: float) -> float | None:
    """Seconds until ``condition`` held, None after the timeout.

    A device error counts as "not yet" (a booting BMC does not answer), except
    one that cannot heal by waiting: rejected credentials, or a device this
    run already found unusable; that one is raised at once.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        broken = rack.broken(device)
        if broken is not None:
            raise broken.with_traceback(None)
        try:
            if condition():
                return round(time.monotonic() - started, 3)
        except DeviceAuthError:
            raise
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


def each_tray(rack, action: Callable[[str], object]) -> dict[str, DeviceError]:
    """Run ``action`` on every tray concurrently (BMCs are independent); the errors by tray."""
    names = list(rack.rack.devices_of("bmc"))
    problems: dict[str, DeviceError] = {}

    def one(name: str) -> None:
        try:
            action(name)
        except DeviceError as exc:
            problems[name] = exc

    each_in_parallel(one, names, "sequencing", max_workers=16)
    return problems


@dataclass
class Sequence:
    """The trays in the sequence: when each was commanded on, and why one could not take part."""

    problems: dict[str, DeviceError] = field(default_factory=dict)
    took: dict[str, float | None] = field(default_factory=dict)  # seconds to PowerState On


@pytest.fixture(scope="module")
def trays_off(rack) -> Iterator[Sequence]:
    """Every tray off for the sequence (each journaled first); put back as it was afterwards.

    A tray that cannot be switched off stays out of the sequence; its own test fails with why.
    """
    changes: dict[str, Change] = {}

    def off(name: str) -> None:
        changes[name] = rack.safe_state.begin(name, "power", None)
        rack.driver(name).reset("ForceOff")
        rack.invalidate(name)

    # interrupted while switching them off, this setup raises and pytest runs no teardown:
    # the rack session puts back, as it closes, every change still journaled
    sequence = Sequence(each_tray(rack, off))
    try:
        yield sequence
    finally:
        failed = each_tray(rack, lambda name: name in changes and rack.safe_state.restore(changes[name]))
        if failed:
            pytest.fail("could not restore: " + "; ".join(map(str, failed.values())), pytrace=False)


@pytest.fixture(scope="module")
def trays_powered_on(rack, trays_off, limits) -> Sequence:
    """Reset On sent to every tray at once, after the shelves and switches (first tray test);
    each tray's time to PowerState On is waited for concurrently, so one slow tray delays no other."""
    limit = limit_of(limits, "tray_power_on_s").high

    def on(name: str) -> None:
        if name in trays_off.problems:
            return
        tray = rack.driver(name)
        started = time.monotonic()
        tray.reset("On")
        reached = wait_for(
            rack, name, lambda: tray.power_state() == "On", limit
        )  # from Reset On, not from the wait
        trays_off.took[name] = round(time.monotonic() - started, 3) if reached is not None else None
        rack.invalidate(name)

    trays_off.problems.update(each_tray(rack, on))
    return trays_off


def test_1_shelf_comes_up(power_shelf, rack, restore, measure, limits, trays_off):
    limit = limit_of(limits, "shelf_power_on_s")
    feeds = [f for f in rack.rack.power if f.load == power_shelf.spec.host]
    for feed in feeds:
        restore.change(feed.device, "outlet", feed.index)
        rack.driver(feed.device).set_outlet(feed.index, "off")
    for feed in feeds:
        rack.driver(feed.device).set_outlet(feed.index, "on")
    shelf, spec = rack.driver(power_shelf.device), power_shelf.spec.shelf

    def carrying() -> bool:  # up: output present, enough healthy PSUs for its redundancy
        snap = shelf.snapshot()
        return (
            snap.output_v is not None
            and sum(p.status.healthy for p in snap.psus) >= spec.psus - spec.redundancy
        )

    took = wait_for(rack, power_shelf.device, carrying, limit.high)
    rack.invalidate(power_shelf.device)
    measure("shelf_power_on_s", took, item=power_shelf, units="s")


def test_2_switch_answers(switch, rack, measure, limits, trays_off):
    limit = limit_of(limits, "switch_ready_s")
    took = wait_for(
        rack, switch.device, lambda: rack.driver(switch.device).identity() is not None, limit.high
    )
    measure("switch_ready_s", took, item=switch, units="s")


def test_3_tray_powers_on(bmc, rack, measure, limits, trays_powered_on):
    if bmc.device in trays_powered_on.problems:
        raise trays_powered_on.problems[bmc.device].with_traceback(None)
    measure("tray_power_on_s", trays_powered_on.took.get(bmc.device), item=bmc, units="s")
    link_limit = limit_of(limits, "link_up_s").high
    for switch, port in host_links(rack.rack, bmc.spec.host):
        if rack.broken(switch) is not None:
            continue  # the switch is unusable this run: its own tests fail and say why

        def up(switch=switch, port=port) -> bool:
            return any(i.name == port and i.oper_up for i in rack.driver(switch).interfaces())

        try:
            took = wait_for(rack, switch, up, link_limit)
        except DeviceError:
            continue  # ...as above: it became unusable while we waited
        measure(
            "link_up_s", took, item=f"{bmc.device}:{switch}/{port}", device=bmc.device, units="s", fail=False
        )
        rack.invalidate(switch)
    measure.verdict()
