"""Fixtures of the example_inlet suite (the worked example of docs/guide.md)."""

from __future__ import annotations

import pytest


@pytest.fixture
def inlet_phases(pdu, rack):
    """The phases of one PDU's inlet, from the session's snapshot of that PDU.

    The snapshot is read once per session, concurrently for every PDU, so this
    fixture costs nothing per test.
    """
    return rack.snapshot(pdu.device).phases
