"""Inlet acceptance: each phase of each PDU's inlet stays within the rack's power budget.

The worked example of docs/guide.md: a fixture (``inlet_phases``), a test
parametrized over the rack's PDUs (the ``pdu`` argument), and ``measure`` with
a limit (``phase_power``) that lives in the limits file, not in this code.
"""

from __future__ import annotations


def test_inlet_power(pdu, inlet_phases, measure):
    """Real power per inlet phase is within the design budget (limit ``phase_power``)."""
    assert inlet_phases, f"{pdu.id} reports no inlet phases"
    for phase in inlet_phases:
        measure(
            "phase_power",
            phase.power_w,
            item=f"{pdu.id}/{phase.phase}",
            device=pdu.device,
            fail=False,  # measure every phase, then fail once with all that are out
        )
    measure.verdict()
