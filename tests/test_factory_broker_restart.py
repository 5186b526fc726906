"""A real RabbitMQ server stopped and started again mid-run: nothing lost, nothing duplicated.

The broker is a private node this module starts (tests/rabbitmq_node.py: its own name,
ports, data and cookie), so stopping it disturbs no other test on the shared broker and
the suite stays parallel. The whole server stops (its VM exits), and starts again on the
same data directory and port: the stronger test than a dropped connection
(test_factory_failures.py's TCP proxy).
"""

from __future__ import annotations

import os
import subprocess
import sys

from rackval.factory.app import station_queue
from rackval.factory.dispatch import dispatch as send
from rackval.factory.dispatch import run_spec
from tests.factory_helpers import Stations, central_run, counts, wait_for
from tests.rabbitmq_node import RabbitNode, require_rabbitmq_server
from tests.test_factory_failures import _central_has_run, _local_outcome


def test_a_broker_restart_mid_run_loses_nothing_and_runs_nothing_twice(tmp_path, central):
    require_rabbitmq_server()
    node = RabbitNode(tmp_path / "mq")
    group = Stations(tmp_path, central)
    try:
        node.start()
        slow = tmp_path / "slow.yaml"
        # slow enough that the run is still going once the whole server has stopped, on a loaded machine
        slow.write_text("name: slow\nfaults: []\nlatency_ms: {snmp: 400}\n")
        st = group.add(scenarios=[slow], broker=node.url)
        parked = group.add(start=False)  # its worker is stopped: its run waits in its queue
        queued = send(
            parked.station_id,
            run_spec(parked.serial, suites=["power"], sim=True, marker="not destructive"),
            node.url,
        )
        assert node.queue_depth(station_queue(parked.station_id)) == 1
        run_id = send(
            st.station_id, run_spec(st.serial, suites=["power"], sim=True, marker="not destructive"), node.url
        )
        local = f"sqlite:///{st.results_dir / 'results.db'}"
        wait_for(
            "the run started centrally", lambda: _central_has_run(central, run_id), timeout=60, every=0.05
        )

        node.stop()  # the whole server, mid-run
        assert not node.accepting()
        assert _local_outcome(local, run_id) is None  # stopped while the run is going

        # a run dispatched meanwhile: refused at once and clearly, so nobody thinks it queued
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "rackval",
                "dispatch",
                st.serial,
                "--station",
                st.station_id,
                "--sim",
                "--broker",
                node.url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "COLUMNS": "250"},
        )
        assert out.returncode == 2, out.stdout + out.stderr
        assert f"the broker amqp://guest:***@127.0.0.1:{node.port}// is unreachable" in out.stderr
        assert "was not queued" in out.stderr
        assert "guest:guest" not in out.stdout + out.stderr
        assert "Traceback" not in out.stderr

        node.start()  # same data directory, same port
        # the run queued before the restart survived it (durable queue, persistent message)
        assert node.queue_depth(station_queue(parked.station_id)) == 1

        done = wait_for("the run in the central store", lambda: central_run(central, run_id), timeout=90)
        assert done.outcome == "pass"
        log = st.rack_file.parent.parent / "worker.log"
        wait_for(
            "the redelivery after the restart",
            lambda: "already ended (pass): not run again" in log.read_text(),
            timeout=60,
        )
        text = log.read_text()
        assert text.count(f"run {run_id}: rackval run") == 1  # started once
        assert text.count(f"Task rackval.factory.run[{run_id}] received") == 2  # delivered twice
        assert group.workers[st.station_id].poll() is None  # reconnected by itself, still serving
        whole = counts(local, run_id)
        assert counts(central, run_id) == whole
        assert whole[0] > 0 and whole[:2] == whole[2:]  # no test or measurement twice
        # the refused dispatch really queued nothing: this station's queue is empty
        assert node.queue_depth(station_queue(st.station_id)) == 0

        # the worker takes new runs after the restart
        after = send(
            st.station_id, run_spec(st.serial, suites=["power"], sim=True, marker="not destructive"), node.url
        )
        # and the parked station, started now, runs the run queued before the restart
        group.start_worker(parked, node.url)
        survived = wait_for("the queued run", lambda: central_run(central, queued), timeout=90)
        assert (survived.station_id, survived.outcome) == (parked.station_id, "pass")
        later = wait_for("a run after the restart", lambda: central_run(central, after), timeout=90)
        assert later.outcome == "pass"
        parked_log = (parked.rack_file.parent.parent / "worker.log").read_text()
        assert parked_log.count(f"run {queued}: rackval run") == 1
    finally:
        group.close()
        node.close()
