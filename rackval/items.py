"""Rack items: the parts of a rack a test can be parametrized over.

A test that takes an argument named after an item kind (``outlet``, ``link``,
``port``, ``pdu``, ``switch``, ``test_point``...) runs once per such item,
with ids a technician can read (``pdu-a/7``, ``leaf-1/Ethernet3``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from rackval.kinds import ENDS_LINKS, all_kinds
from rackval.model import Rack


@dataclass(frozen=True)
class Item:
    kind: str
    id: str
    device: str  # the managed device this item is checked through
    spec: Any  # the rack-file entry behind it (PowerFeed, Link, device model...)

    @property
    def index(self) -> int:
        """Outlet number, for outlet items."""
        return int(self.id.rsplit("/", 1)[1])

    @property
    def port(self) -> str:
        """Port name, for port and link items."""
        return self.id.split("/", 1)[1]

    @property
    def label(self) -> str:
        """How a technician would name it: ``pdu-a outlet 7 (srv-03-psu1)``."""
        if self.kind == "outlet":
            return f"{self.device} outlet {self.index} ({self.spec.outlet_name})"
        if self.kind in ("link", "port"):
            far = self.spec.b if self.spec.a == self.id else self.spec.a
            return f"{self.device} port {self.port} (to {far})"
        return self.id

    def __str__(self) -> str:
        return self.id


def devices_of_kind(kind: str) -> Callable[[Rack], list[Item]]:
    """Item kind ``kind``: one item per device of that kind (``pdu``, ``switch``...)."""

    def items(rack: Rack) -> list[Item]:
        return [Item(kind, name, name, dev) for name, dev in rack.devices_of(kind).items()]

    return items


def outlets(rack: Rack) -> list[Item]:
    feeds = sorted(rack.power, key=lambda f: (f.device, f.index))
    return [Item("outlet", f.outlet, f.device, f) for f in feeds]


def links(rack: Rack) -> list[Item]:
    """One item per planned link, seen from its switch end (the a-side if both are switches)."""
    switches = rack.devices_providing(ENDS_LINKS)
    result = []
    for link in rack.cabling:
        a_dev = link.ends[0][0]
        end = link.a if a_dev in switches else link.b
        result.append(Item("link", end, end.split("/", 1)[0], link))
    return result


def ports(rack: Rack) -> list[Item]:
    """One item per switch port that the cabling plan uses (both ends of switch-switch links)."""
    switches = rack.devices_providing(ENDS_LINKS)
    result = []
    for link in rack.cabling:
        for end in (link.a, link.b):
            dev = end.split("/", 1)[0]
            if dev in switches:
                result.append(Item("port", end, dev, link))
    return result


def test_points(rack: Rack) -> list[Item]:
    return [Item("test_point", name, name, tp) for name, tp in rack.test_points.items()]


test_points.__test__ = False  # type: ignore[attr-defined]

# items of the rack's plan, whatever its device kinds
PLAN_ITEMS: dict[str, Callable[[Rack], list[Item]]] = {
    "outlet": outlets,
    "link": links,
    "port": ports,
    "test_point": test_points,
}


@cache
def item_kinds() -> dict[str, Callable[[Rack], list[Item]]]:
    """Every item kind a test argument can name: the plan's, one per device kind, and the kinds' own."""
    found = dict(PLAN_ITEMS)
    for name, kind in all_kinds().items():
        if not kind.station:  # bench instruments are the station plugin's items (``instrument``)
            found[name] = devices_of_kind(name)
        found.update(kind.items)
    return found


def items_of(rack: Rack, kind: str, devices: set[str] | None = None) -> list[Item]:
    """Items of ``kind``; with ``devices``, only those checked through one of them."""
    found = item_kinds()[kind](rack)
    if devices:
        found = [i for i in found if i.device in devices]
    return found


def item_of(node: Any) -> list[Item]:
    """The rack items a collected pytest test is parametrized over (none for a plain test)."""
    params = getattr(getattr(node, "callspec", None), "params", {})
    return [p for p in params.values() if isinstance(p, Item)]


def devices_used(nodes: Iterable[Any]) -> list[str]:
    """Devices the given tests are about (only those need to be ready for a run), in first-use order."""
    return list(dict.fromkeys(i.device for node in nodes for i in item_of(node)))
