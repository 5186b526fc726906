"""Power acceptance: PDU identity, outlet map, outlet switching, loads and phase balance.

Read-only checks assert per item from one snapshot per PDU (gathered
concurrently across PDUs); the destructive switching test comes last, so
the snapshot shows the rack as delivered.
"""

from __future__ import annotations

import pytest

from rackval.limits import Limit
from rackval.switching import switch_all


def _snapshot(rack, device, *parts):
    snapshot = rack.snapshot(device)
    snapshot.require(*parts)
    return snapshot


def _outlet(rack, outlet):
    return rack.snapshot(outlet.device).outlet(outlet.index)


def test_pdu_identity(pdu, rack, measure):
    identity = _snapshot(rack, pdu.device, "identity").identity
    expected = pdu.spec.expected
    for field in ("model", "serial"):
        want = getattr(expected, field)
        if want is not None:
            measure(
                f"pdu_{field}",
                getattr(identity, field),
                item=pdu,
                limit=Limit(expected=want),
                fail=False,
            )
    measure(
        "pdu_outlet_count",
        identity.outlet_count,
        item=pdu,
        limit=Limit(expected=pdu.spec.outlets),
        fail=False,
    )
    measure(
        "pdu_phase_count",
        identity.phase_count,
        item=pdu,
        limit=Limit(expected=pdu.spec.phases),
        fail=False,
    )
    measure.verdict()


def test_pdu_firmware(pdu, rack, measure):
    want = pdu.spec.expected.firmware
    if want is None:
        pytest.skip(f"{pdu.id}: the rack file names no firmware to check")
    measure(
        "pdu_firmware",
        _snapshot(rack, pdu.device, "identity").identity.firmware,
        item=pdu,
        limit=Limit(expected=want),
    )


def test_outlet_name(outlet, rack, measure):
    reading = _outlet(rack, outlet)
    measure("outlet_name", reading.name, item=outlet, limit=Limit(expected=outlet.spec.outlet_name))


def test_outlet_state(outlet, rack, measure):
    measure("outlet_state", _outlet(rack, outlet).state, item=outlet)


def test_outlet_current(outlet, rack, measure):
    expected = outlet.spec.current_a
    _snapshot(rack, outlet.device, f"current/{outlet.index}")
    measure(
        "outlet_current",
        _outlet(rack, outlet).current_a,
        item=outlet,
        limit=Limit(low=expected.min, high=expected.max, units="A"),
    )


def test_phase_load(pdu, rack, measure):
    """Each phase's current stays under the PDU's derated rating."""
    spec = pdu.spec
    derated = spec.rated_current_a * spec.derating_percent / 100
    for phase in _snapshot(rack, pdu.device, "phases").phases:
        measure(
            "phase_current",
            phase.current_a,
            item=f"{pdu.id}/{phase.phase}",
            device=pdu.device,
            limit=Limit(low=0, high=derated, units="A"),
            fail=False,
        )
    measure.verdict()


def test_phase_balance(pdu, rack, measure):
    phases = _snapshot(rack, pdu.device, "phases").phases
    if len(phases) < 2:
        pytest.skip(f"{pdu.id} is single-phase")
    currents = [p.current_a for p in phases]
    mean = sum(currents) / len(currents)
    imbalance = 0.0 if mean == 0 else (max(currents) - min(currents)) / mean * 100
    measure("phase_imbalance", round(imbalance, 1), item=pdu)


def test_total_load(pdu, rack, measure):
    spec = pdu.spec
    capacity = spec.rated_current_a * spec.phases * spec.derating_percent / 100
    total = sum(p.current_a for p in _snapshot(rack, pdu.device, "phases").phases)
    measure("pdu_total_load", round(total / capacity * 100, 1), item=pdu)


@pytest.fixture(scope="session")
def switching(request, rack, limits):
    """Switch every selected outlet off and on once, concurrently across PDUs.

    Runs when the first switching test needs it, for all the switching tests
    this session selected; each outlet is restored as soon as it was observed.
    """
    selected = [
        item.callspec.params["outlet"]
        for item in request.session.items
        if item.originalname == "test_outlet_switching"
    ]
    timeout = limits.get("outlet_switch_s").high or 5.0
    return switch_all(rack, [(o.device, o.index) for o in selected], timeout)


@pytest.mark.destructive
def test_outlet_switching(outlet, switching, measure):
    """The outlet switches off and back on, and its state and current follow."""
    result = switching[(outlet.device, outlet.index)]
    if isinstance(result, Exception):
        raise result
    measure("outlet_state_after_off", result.after_off.state, item=outlet, limit=Limit(expected="off"))
    measure("outlet_switch_s", round(result.off_seconds, 2), item=outlet)
    measure("outlet_current_off", result.after_off.current_a, item=outlet)
    measure("outlet_state_after_on", result.after_on.state, item=outlet, limit=Limit(expected="on"))
    measure("outlet_current_restored", result.after_on.current_a, item=outlet)
