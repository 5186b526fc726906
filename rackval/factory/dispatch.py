"""``rackval dispatch``: queue a run for one station; the run id is chosen here.

The id travels with the task, so every delivery of the message (a redelivery
after a broker restart or a dead worker) names the same run, and the station
can tell a run it already ran from a new one.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from rackval.factory.app import TASK_NAME, make_app, redact_broker, station_queue


class BrokerUnreachable(RuntimeError):
    """The run could not be queued: the broker did not answer (its URL in the message, no password)."""


def run_spec(
    rack: str,
    *,
    suites: list[str] | None = None,
    sim: bool = False,
    scenarios: list[str] | None = None,
    marker: str | None = None,
    keyword: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """What a station needs to start the run: the rack by serial (or a path the station can read)."""
    from rackval.factory.worker import rack_serial_of

    path = Path(rack)
    rack_file = None
    if path.is_file():
        rack, rack_file = rack_serial_of(path) or str(path.resolve()), str(path.resolve())
    return {
        "run_id": run_id or uuid.uuid4().hex[:16],
        "rack": rack,
        "rack_file": rack_file,  # used when the station has no rack of that serial (same file system)
        "suites": list(suites or []),
        "sim": bool(sim or scenarios),
        "scenarios": [str(Path(sc).resolve()) for sc in scenarios or []],
        "marker": marker,
        "keyword": keyword,
    }


DISPATCH_RETRIES = 3


def dispatch(station_id: str, spec: dict[str, Any], broker: str | None = None) -> str:
    """Publish the run to ``station_id``'s queue (declared durable if new); returns the run id.

    With the broker away, kombu's few connection retries (a few seconds: a broker restarting
    is back by then) and then :class:`BrokerUnreachable`: the technician learns at once that
    the run was *not* queued, rather than a dispatch hanging until the broker returns.
    """
    from kombu import Queue
    from kombu.exceptions import OperationalError

    app = make_app(broker)
    queue = station_queue(station_id)
    try:
        with app.connection_for_write() as conn:
            try:
                conn.ensure_connection(max_retries=DISPATCH_RETRIES, interval_start=1, interval_step=1)
            except (OperationalError, OSError) as exc:
                where = redact_broker(app.conf.broker_url)
                raise BrokerUnreachable(
                    f"the broker {where} is unreachable ({exc}): run {spec['run_id']} was not queued"
                ) from None
            Queue(queue, durable=True, channel=conn.default_channel).declare()
            app.send_task(
                TASK_NAME,
                args=[spec],
                queue=queue,
                routing_key=queue,
                connection=conn,
                task_id=spec["run_id"],
            )
    finally:
        app.close()
    return spec["run_id"]
