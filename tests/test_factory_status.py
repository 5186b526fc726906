"""``rackval factory status`` live from the broker too: queued runs, ping answers; either source away."""

from __future__ import annotations

from rackval.factory.dispatch import dispatch as send
from rackval.factory.dispatch import run_spec
from tests.factory_helpers import BROKER, rackval, wait_for
from tests.rabbitmq_node import free_port


def lines_of(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines() if line.strip()}


def test_runs_queued_for_a_station_without_its_worker_are_counted(stations, central):
    from rackval.factory.sim import stop
    from rackval.factory.status import factory_status

    idle = stations.add()  # a worker, so the store knows the station: heartbeats
    parked = stations.add()  # its worker stopped (a station PC switched off): its runs wait
    known = lambda: {s.station_id for s in factory_status(central)}  # noqa: E731
    wait_for("both heartbeats", lambda: {idle.station_id, parked.station_id} <= known())
    stop(stations.workers[parked.station_id])
    for _ in range(2):
        send(parked.station_id, run_spec(parked.serial, suites=["power"], sim=True), BROKER)
    found = {s.station_id: s for s in factory_status(central, broker=BROKER)}
    assert found[idle.station_id].broker_seen is True
    assert found[idle.station_id].queued == 0
    assert (found[parked.station_id].queued, found[parked.station_id].broker_seen) == (2, False)
    # without the broker asked: the fields keep their defaults
    plain = {s.station_id: s for s in factory_status(central)}
    assert plain[idle.station_id].queued is None and plain[idle.station_id].broker_seen is None

    out = rackval("factory", "status", "--results-db", central, "--broker", BROKER)
    assert out.returncode == 0, out.stderr
    shown = lines_of(out.stdout)
    assert "2 queued" in shown[parked.station_id]
    assert "idle" in shown[idle.station_id] and "queued" not in shown[idle.station_id]
    assert "guest:guest" not in out.stdout + out.stderr


def test_the_central_store_away_the_broker_still_lists_the_live_station(stations, central):
    st = stations.add()
    wait_for(
        "the worker answering",
        lambda: "idle" in rackval("factory", "status", "--results-db", central, "--broker", BROKER).stdout,
    )
    closed = f"postgresql+psycopg://rv:s3cret@127.0.0.1:{free_port()}/nowhere"
    out = rackval("factory", "status", "--results-db", closed, "--broker", BROKER)
    assert out.returncode == 0, out.stderr
    assert "central store unreachable" in out.stdout
    assert "the central store" in out.stderr and "is unreachable" in out.stderr
    assert st.station_id in lines_of(out.stdout)
    assert "idle" in lines_of(out.stdout)[st.station_id]
    assert "s3cret" not in out.stdout + out.stderr


def test_the_broker_away_status_shows_the_heartbeats_and_says_so(stations, central):
    st = stations.add()
    wait_for(
        "the worker's heartbeat",
        lambda: st.station_id in rackval("factory", "status", "--results-db", central).stdout,
    )
    port = free_port()
    out = rackval(
        "factory", "status", "--results-db", central, "--broker", f"amqp://rv:s3cret@127.0.0.1:{port}//"
    )
    assert out.returncode == 0, out.stderr
    assert "broker unreachable" in out.stdout
    assert f"the broker amqp://rv:***@127.0.0.1:{port}// is unreachable" in out.stderr
    assert "idle" in lines_of(out.stdout)[st.station_id]
    assert "s3cret" not in out.stdout + out.stderr

    both = rackval(
        "factory",
        "status",
        "--results-db",
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x",
        "--broker",
        f"amqp://rv:s3cret@127.0.0.1:{port}//",
    )
    assert both.returncode == 2
    assert "neither the central store nor the broker" in both.stderr
