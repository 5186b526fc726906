"""The factory against the real RabbitMQ and PostgreSQL: dispatch, status, history across stations."""

from __future__ import annotations

import subprocess
import sys

from tests.factory_helpers import (
    BROKER,
    central_run,
    counts,
    dispatch,
    rackval,
    wait_for,
)


def test_a_run_dispatched_to_a_station_runs_there_and_only_there(stations, central):
    a, b = stations.add(), stations.add()
    run_a = dispatch(a)
    run_b = dispatch(b)
    done_a = wait_for("run A in the central store", lambda: central_run(central, run_a))
    done_b = wait_for("run B in the central store", lambda: central_run(central, run_b))
    assert (done_a.station_id, done_a.rack_serial, done_a.outcome) == (a.station_id, a.serial, "pass")
    assert (done_b.station_id, done_b.rack_serial, done_b.outcome) == (b.station_id, b.serial, "pass")
    # the central copy is the station's local record, whole
    local_a = f"sqlite:///{a.results_dir / 'results.db'}"
    assert counts(central, run_a) == counts(local_a, run_a)
    assert counts(central, run_a)[0] > 0
    # station B never saw A's run
    local_b = f"sqlite:///{b.results_dir / 'results.db'}"
    assert counts(local_b, run_a)[:2] == (0, 0)
    assert counts(local_b, run_b)[0] > 0

    # the same rack on another station (its rack file, on B's own simulator): history spans both
    from rackval.factory.dispatch import dispatch as send
    from rackval.factory.dispatch import run_spec

    moved = send(
        b.station_id, run_spec(str(a.rack_file), suites=["power"], sim=True, marker="not destructive")
    )
    done_moved = wait_for("A's rack run on B", lambda: central_run(central, moved))
    assert (done_moved.station_id, done_moved.rack_serial) == (b.station_id, a.serial)
    shown = rackval("results", "history", a.serial, "--results-db", central)
    assert shown.returncode == 0, shown.stderr
    rows = [line for line in shown.stdout.splitlines() if run_a in line or moved in line]
    assert len(rows) == 2
    assert any(a.station_id in r and run_a in r for r in rows)
    assert any(b.station_id in r and moved in r for r in rows)

    status = rackval("factory", "status", "--results-db", central)
    assert status.returncode == 0, status.stderr
    lines = {line.split()[0]: line for line in status.stdout.splitlines() if line.strip()}
    assert "idle" in lines[a.station_id] and "idle" in lines[b.station_id]


def test_a_run_queued_before_its_station_starts_waits_for_it(stations, central):
    st = stations.add(start=False)
    out = rackval(
        "dispatch",
        st.serial,
        "--station",
        st.station_id,
        "--suite",
        "power",
        "--sim",
        "-m",
        "not destructive",
        "--broker",
        BROKER,
    )
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip()
    assert len(run_id) == 16
    assert central_run(central, run_id) is None  # queued: no worker for that station yet
    stations.start_worker(st)
    done = wait_for("the queued run", lambda: central_run(central, run_id))
    assert done.station_id == st.station_id
    # the broker's password never reaches the worker's log
    log = (st.rack_file.parent.parent / "worker.log").read_text()
    assert "guest:guest" not in log and "127.0.0.1:5672" in log


def test_the_embedded_default_loads_no_celery():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, rackval.cli; print('celery' in sys.modules, 'kombu' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "False"]


def test_broker_urls_are_redacted():
    from rackval.factory.app import redact_broker

    assert (
        redact_broker("amqp://rv:s3cret@mq.example:5672/factory") == "amqp://rv:***@mq.example:5672/factory"
    )
    assert "s3cret" not in redact_broker("amqps://user:s3cret@host//")
