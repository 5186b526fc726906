"""Compute acceptance: each tray's inventory (over its BMC's Redfish) against the rack file.

One snapshot per tray, gathered concurrently across BMCs; per tray: power
state, health, CPUs and memory, GPUs and their model, sensors within their
thresholds and the limits file, no leak; per tray and component: firmware.
"""

from __future__ import annotations

import pytest

from rackval.limits import Limit


def _tray(rack, item):
    snap = rack.snapshot(item.device)
    for part, error in snap.errors.items():
        pytest.fail(f"{item.device}: could not read {part}: {error}", pytrace=False)
    return snap


def test_tray_powered_on(bmc, rack, measure):
    measure("tray_power_state", _tray(rack, bmc).power_state, item=bmc, limit=Limit(expected="On"))


def test_tray_health(bmc, rack, measure):
    status = _tray(rack, bmc).status
    measure("tray_health", status.rollup or status.health or "OK", item=bmc, limit=Limit(expected="OK"))


def test_tray_cpus_and_memory(bmc, rack, measure):
    snap, want = _tray(rack, bmc), bmc.spec.inventory
    measure("tray_cpu_count", snap.cpus, item=bmc, limit=Limit(expected=want.cpus), fail=False)
    if want.cpu_model:
        measure("tray_cpu_model", snap.cpu_model, item=bmc, limit=Limit(expected=want.cpu_model), fail=False)
    measure(
        "tray_memory_gib",
        snap.memory_gib,
        item=bmc,
        units="GiB",
        limit=Limit(low=want.memory_gib),
        fail=False,
    )
    measure("tray_nic_count", snap.nics, item=bmc, limit=Limit(expected=want.nics), fail=False)
    measure.verdict()


def test_tray_gpus(bmc, rack, measure):
    """Every GPU present, enabled, healthy and of the rack file's model."""
    snap, want = _tray(rack, bmc), bmc.spec.inventory
    present = [g for g in snap.gpus if g.status.state not in ("Absent",)]
    measure("tray_gpu_count", len(present), item=bmc, limit=Limit(expected=want.gpus), fail=False)
    for gpu in present:
        where = f"{bmc.device}/{gpu.id}"
        if want.gpu_model:
            measure(
                "gpu_model",
                gpu.model,
                item=where,
                device=bmc.device,
                limit=Limit(expected=want.gpu_model),
                fail=False,
            )
        measure(
            "gpu_health",
            gpu.status.health or "OK",
            item=where,
            device=bmc.device,
            limit=Limit(expected="OK"),
            fail=False,
        )
    measure.verdict()


def test_tray_firmware(tray_firmware, rack, measure):
    component, version = tray_firmware.spec
    reported = _tray(rack, tray_firmware).firmware.get(component, [])
    if not reported:
        pytest.fail(f"{tray_firmware.id}: the BMC reports no {component} firmware version", pytrace=False)
    for value in sorted(set(reported)):
        measure(f"{component}_firmware", value, item=tray_firmware, limit=Limit(expected=version), fail=False)
    measure.verdict()


def test_tray_sensors(bmc, rack, measure, limits):
    """Every sensor within the BMC's own critical thresholds; temperatures within the limits file."""
    snap = _tray(rack, bmc)
    if not snap.sensors:
        pytest.fail(f"{bmc.device}: the BMC reports no sensors", pytrace=False)
    for s in snap.sensors:
        if s.reading is None:
            continue
        where = f"{bmc.device}/{s.id}"
        if s.type == "Temperature":
            measure("tray_temperature_c", s.reading, item=where, device=bmc.device, units="Cel", fail=False)
        if s.upper_critical is not None or s.lower_critical is not None:
            limit = Limit(low=s.lower_critical, high=s.upper_critical, units=s.units or "")
            measure(
                "sensor_reading",
                s.reading,
                item=where,
                device=bmc.device,
                units=s.units,
                limit=limit,
                fail=False,
            )
    measure.verdict()


def test_tray_no_leak(bmc, rack, measure):
    for d in _tray(rack, bmc).leaks:
        measure(
            "leak_detector",
            d.state or "OK",
            item=f"{bmc.device}/{d.id}",
            device=bmc.device,
            limit=Limit(expected="OK"),
            fail=False,
        )
    measure.verdict()


@pytest.fixture(scope="module", autouse=True)
def _gather_trays(rack):
    rack.gather("bmc")  # every tray read once, concurrently, before the first check
