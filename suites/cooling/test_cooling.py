"""Cooling acceptance: the CDU's secondary loop within limits, pumps healthy, no leak anywhere."""

from __future__ import annotations

from rackval.limits import Limit

LOOP = {
    "cdu_flow_lpm": ("flow_lpm", "L/min"),
    "cdu_supply_temp_c": ("supply_temp_c", "Cel"),
    "cdu_return_temp_c": ("return_temp_c", "Cel"),
    "cdu_pressure_kpa": ("pressure_kpa", "kPa"),
}


def test_cdu_loop(cdu, rack, measure, limits):
    snap = rack.snapshot(cdu.device)
    for name, (field, units) in LOOP.items():
        measure(name, getattr(snap, field), item=cdu, units=units, fail=False)
    measure.verdict()


def test_cdu_pumps(cdu, rack, measure):
    pumps = rack.snapshot(cdu.device).pumps
    measure("cdu_pump_count", len(pumps), item=cdu, limit=Limit(expected=cdu.spec.cdu.pumps), fail=False)
    for i, status in enumerate(pumps, 1):
        where = f"{cdu.device}/pump{i}"
        measure(
            "pump_health",
            status.health or "OK",
            item=where,
            device=cdu.device,
            limit=Limit(expected="OK"),
            fail=False,
        )
    measure.verdict()


def test_cdu_no_leak(cdu, rack, measure):
    leaks = rack.snapshot(cdu.device).leaks
    measure(
        "cdu_leak_detectors",
        len(leaks),
        item=cdu,
        limit=Limit(expected=cdu.spec.cdu.leak_detectors),
        fail=False,
    )
    for d in leaks:
        measure(
            "leak_detector",
            d.state or "OK",
            item=f"{cdu.device}/{d.id}",
            device=cdu.device,
            limit=Limit(expected="OK"),
            fail=False,
        )
    measure.verdict()
