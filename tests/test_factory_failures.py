"""The factory when things fail: a worker SIGKILLed mid-run, the central database away mid-run."""

from __future__ import annotations

import json
import os
import signal

from rackval.factory.dispatch import dispatch as send
from rackval.factory.dispatch import run_spec
from rackval.journal import pending_changes
from tests.factory_helpers import (
    Proxy,
    Stations,
    central_run,
    counts,
    wait_for,
    writer_processes,
)


def outlet_state(st, device: str, index: int) -> str:
    from rackval.devices import DeviceRegistry
    from rackval.model import load_rack
    from rackval.station import station_for_rack

    rack = load_rack(st.rack_file)
    overlay = json.loads(st.endpoints.read_text())["devices"]
    devices = DeviceRegistry(rack, station_for_rack(rack), overlay)
    try:
        return devices.driver(device).outlet(index).state
    finally:
        devices.close()


def test_a_worker_killed_mid_run_aborts_the_run_keeps_its_records_restores_the_rack(
    stations, central, tmp_path
):
    from rackval.factory.status import factory_status

    slow = tmp_path / "slow-pdus.yaml"  # slow enough that the kill lands while an outlet is switched
    slow.write_text("name: slow-pdus\nfaults: []\nlatency_ms: {snmp: 150}\n")
    st = stations.add(scenarios=[slow])
    worker = stations.workers[st.station_id]
    run_id = send(st.station_id, run_spec(st.serial, suites=["power"], sim=True))
    journal = st.results_dir / "journals" / st.serial / f"{run_id}.jsonl"

    def running():
        found = {s.station_id: s for s in factory_status(central)}
        return found.get(st.station_id) if found.get(st.station_id).state == "running" else None

    status = wait_for("the station running", running)
    assert (status.run_id, status.rack_serial) == (run_id, st.serial)
    change = wait_for(
        "an outlet switched by the run", lambda: pending_changes(journal), timeout=90, every=0.02
    )[0]
    assert writer_processes(run_id), "the run commits its records in a writer process"
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    # the run dies with its worker; its writer process commits what it had been sent, then exits
    wait_for("the run's writer process to exit", lambda: not writer_processes(run_id), timeout=30)
    local = f"sqlite:///{st.results_dir / 'results.db'}"
    committed = counts(local, run_id)
    assert pending_changes(journal), "the kill landed after the run restored the outlet itself"
    assert committed[1] > 0  # the run had measured something

    offline = wait_for(
        "the station offline by heartbeat",
        lambda: [
            s
            for s in factory_status(central, offline_after_s=4)
            if s.station_id == st.station_id and s.state == "offline"
        ],
        timeout=30,
    )
    assert offline

    stations.start_worker(st)
    aborted = wait_for("the run recorded as aborted", lambda: central_run(central, run_id), timeout=60)
    assert aborted.outcome == "aborted"
    assert counts(central, run_id) == committed == counts(local, run_id)  # kept, not duplicated
    assert not pending_changes(journal)  # the recovering worker restored it (the run never did)
    assert outlet_state(st, change.device, change.target) == "on"

    # the redelivered message did not run it again, and the station takes the next run
    nxt = send(st.station_id, run_spec(st.serial, suites=["power"], sim=True, marker="not destructive"))
    done = wait_for("the next run", lambda: central_run(central, nxt), timeout=90)
    assert done.outcome == "pass"
    assert central_run(central, run_id).outcome == "aborted"
    assert counts(central, run_id) == committed


def test_the_central_database_away_mid_run_loses_nothing_and_duplicates_nothing(tmp_path, central):
    proxy = Proxy(("127.0.0.1", 5432))
    via_proxy = central.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    group = Stations(tmp_path, via_proxy)
    try:
        slow = tmp_path / "slow.yaml"
        slow.write_text("name: slow\nfaults: []\nlatency_ms: {snmp: 100}\n")
        st = group.add(scenarios=[slow])
        run_id = send(
            st.station_id, run_spec(st.serial, suites=["power"], sim=True, marker="not destructive")
        )
        local = f"sqlite:///{st.results_dir / 'results.db'}"
        # the run has reached the centre (its start): then cut the centre off for the rest of it
        wait_for(
            "the run started centrally", lambda: _central_has_run(central, run_id), timeout=60, every=0.02
        )
        proxy.cut()
        at_cut = counts(central, run_id)
        wait_for("the run to end on the station", lambda: _local_outcome(local, run_id), timeout=90)
        assert counts(local, run_id)[1] > at_cut[1]  # the station went on measuring, buffered locally
        assert central_run(central, run_id) is None  # nothing could arrive meanwhile
        proxy.restore()
        done = wait_for("the buffered records synced", lambda: central_run(central, run_id), timeout=60)
        assert done.outcome == "pass"
        whole = counts(local, run_id)
        assert counts(central, run_id) == whole
        t, m, distinct_t, distinct_m = whole
        assert (t, m) == (distinct_t, distinct_m)  # no record twice
    finally:
        group.close()
        proxy.close()


def _local_outcome(url: str, run_id: str) -> str | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("select outcome from runs where run_id = :r"), {"r": run_id}).scalar()
    finally:
        engine.dispose()


def _central_has_run(url: str, run_id: str) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(
                conn.execute(text("select count(*) from runs where run_id = :r"), {"r": run_id}).scalar()
            )
    finally:
        engine.dispose()


def test_the_broker_gone_mid_run_the_run_completes_once(tmp_path, central):
    """The worker's broker connection is dropped mid-run (a TCP proxy in front of RabbitMQ, so no
    other test's broker is disturbed): RabbitMQ requeues the unacknowledged message, the worker
    reconnects and gets it again, and the run id tells it the run is done: one run, no duplicates."""
    proxy = Proxy(("127.0.0.1", 5672))
    group = Stations(tmp_path, central)
    try:
        slow = tmp_path / "slow.yaml"
        slow.write_text("name: slow\nfaults: []\nlatency_ms: {snmp: 100}\n")
        st = group.add(scenarios=[slow], broker=f"amqp://guest:guest@127.0.0.1:{proxy.port}//")
        run_id = send(
            st.station_id, run_spec(st.serial, suites=["power"], sim=True, marker="not destructive")
        )
        wait_for(
            "the run started centrally", lambda: _central_has_run(central, run_id), timeout=60, every=0.05
        )
        proxy.cut()
        local = f"sqlite:///{st.results_dir / 'results.db'}"
        assert _local_outcome(local, run_id) is None  # cut while the run is going
        proxy.restore()
        done = wait_for("the run in the central store", lambda: central_run(central, run_id), timeout=90)
        assert done.outcome == "pass"
        log = st.rack_file.parent.parent / "worker.log"
        wait_for(
            "the redelivery", lambda: "already ended (pass): not run again" in log.read_text(), timeout=60
        )
        text = log.read_text()
        assert text.count(f"run {run_id}: rackval run") == 1  # started once
        assert text.count(f"Task rackval.factory.run[{run_id}] received") == 2  # delivered twice
        whole = counts(local, run_id)
        assert counts(central, run_id) == whole
        assert whole[:2] == whole[2:]  # no test or measurement twice
    finally:
        group.close()
        proxy.close()
