"""SNMP clients on one loop share an engine per credentials; each still reads its own device.

Two real simulated PDUs (the demo rack's APC pdu-a and Raritan pdu-b, SNMPv3
with the same user and keys, each agent with its own engine id) answer over UDP
on 127.0.0.1; nothing of pysnmp is mocked.
"""

from __future__ import annotations

import pytest

from drivers.aio import LoopThread
from tests.raritan_sim_helpers import running_raritan
from tests.snmp_sim_helpers import running_pdu, v2c_rack


@pytest.fixture
def loop():
    with LoopThread("test-snmp-shared") as lt:
        yield lt


def _engine(driver):
    return driver._snmp._engine


def test_pdus_with_the_same_credentials_share_one_engine(loop, tmp_path):
    with (
        running_pdu(loop, tmp_path / "apc") as apc,
        running_raritan(loop, tmp_path / "raritan") as raritan,
    ):
        before = (apc.requests(), raritan.requests())
        a, b = apc.driver.snapshot(), raritan.driver.snapshot()
        assert a.identity.model == apc.rack.devices["pdu-a"].expected.model
        assert b.identity.model == raritan.rack.devices["pdu-b"].expected.model
        assert a.errors == {} and b.errors == {}
        # each agent answered its own driver's requests (v3 discovery of each engine id included)
        assert apc.requests() > before[0] and raritan.requests() > before[1]
        assert _engine(apc.driver) is _engine(raritan.driver)

        # one client closing leaves the shared engine to the others
        apc.driver.close()
        assert raritan.driver.snapshot().identity.serial == raritan.rack.devices["pdu-b"].expected.serial


def test_other_credentials_get_an_engine_of_their_own(loop, tmp_path):
    with (
        running_pdu(loop, tmp_path / "v3") as v3,
        running_pdu(loop, tmp_path / "v2c", rack=v2c_rack()) as v2c,
    ):
        assert v3.driver.snapshot().errors == {}
        assert v2c.driver.snapshot().errors == {}
        assert _engine(v3.driver) is not _engine(v2c.driver)


def test_closing_the_loop_closes_its_shared_engines(tmp_path):
    lt = LoopThread("test-snmp-shared-close")
    try:
        with running_pdu(lt, tmp_path) as sim:
            sim.driver.snapshot()
            engine = _engine(sim.driver)
            assert engine.transport_dispatcher is not None
    finally:
        lt.close()
    assert engine.transport_dispatcher is None  # its socket released with the loop
