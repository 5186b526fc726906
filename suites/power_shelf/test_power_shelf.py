"""Power shelf acceptance: PSU count and health, output voltage, load and redundancy.

Redundancy: with ``shelf.redundancy`` PSUs failed, the healthy rest must
still carry the shelf's present load (``PowerWatts`` against the PSUs' rating).
"""

from __future__ import annotations

import math

from rackval.limits import Limit


def test_shelf_psus(power_shelf, rack, measure):
    snap, spec = rack.snapshot(power_shelf.device), power_shelf.spec.shelf
    measure("shelf_psu_count", len(snap.psus), item=power_shelf, limit=Limit(expected=spec.psus), fail=False)
    for p in snap.psus:
        where = f"{power_shelf.device}/PSU{p.id}"
        health = p.status.health or "OK" if p.status.state in (None, "Enabled") else p.status.state
        measure(
            "psu_health",
            health,
            item=where,
            device=power_shelf.device,
            limit=Limit(expected="OK"),
            fail=False,
        )
    measure.verdict()


def test_shelf_output_voltage(power_shelf, rack, measure, limits):
    snap, spec = rack.snapshot(power_shelf.device), power_shelf.spec.shelf
    limit = limits.limits.get("shelf_output_voltage_v")
    if limit is None:  # default: the nominal voltage +-5 %
        limit = Limit(low=spec.output_voltage_v * 0.95, high=spec.output_voltage_v * 1.05, units="V")
    measure("shelf_output_voltage_v", snap.output_v, item=power_shelf, units="V", limit=limit)


def test_shelf_redundancy(power_shelf, rack, measure):
    snap, spec = rack.snapshot(power_shelf.device), power_shelf.spec.shelf
    healthy = [p for p in snap.psus if p.status.healthy and p.status.state in (None, "Enabled")]
    load_w = snap.power_w or sum(p.output_w or 0.0 for p in snap.psus)
    needed = max(1, math.ceil(load_w / spec.rated_power_w))
    measure(
        "shelf_spare_psus",
        len(healthy) - needed,
        item=power_shelf,
        limit=Limit(
            low=spec.redundancy,
            description=f"healthy PSUs beyond the {needed} the load of {load_w:.0f} W needs",
        ),
    )
