"""A destructive test that breaks after switching an outlet off (used by tests/test_safe_state.py).

``RACKVAL_BREAK`` says how: ``fail`` raises, ``hang`` sleeps until the run is
interrupted or killed.
"""

import os
import time

import pytest


@pytest.mark.destructive
def test_switch_off_then_break(rack, restore):
    restore.outlet("pdu-a", 5)
    rack.driver("pdu-a").set_outlet(5, "off")
    assert rack.driver("pdu-a").outlet(5).state == "off"
    print("OUTLET-IS-OFF", flush=True)
    if os.environ.get("RACKVAL_BREAK") == "hang":
        time.sleep(600)
    raise AssertionError("deliberate failure after switching pdu-a outlet 5 off")
