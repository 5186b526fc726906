"""A destructive test that breaks after changing the rack (used by tests/test_safe_state.py).

It switches pdu-a outlet 5 off, turns the electronic load's input on and the
supply's output on, then breaks as ``RACKVAL_BREAK`` says: ``fail`` raises,
``hang`` sleeps until the run is interrupted or killed.
"""

import os
import time

import pytest


@pytest.mark.destructive
def test_switch_off_then_break(rack, restore, instruments):
    restore.outlet("pdu-a", 5)
    rack.driver("pdu-a").set_outlet(5, "off")
    assert rack.driver("pdu-a").outlet(5).state == "off"
    instruments["eload-1"].set_constant_current(2.0)
    instruments["eload-1"].input(True)
    instruments["psu-1"].set_voltage(12.0)
    instruments["psu-1"].output(True)
    print("RACK-IS-CHANGED", flush=True)
    if os.environ.get("RACKVAL_BREAK") == "hang":
        time.sleep(600)
    raise AssertionError("deliberate failure after switching pdu-a outlet 5 off")
