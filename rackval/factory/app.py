"""The Celery application shared by station workers and dispatchers.

One queue per station (:func:`station_queue`): a run is published to the queue
of the station it is for, and only that station's worker consumes it, so a run
can never be picked up by another station. Late acks with a prefetch of one:
a message is acknowledged only after its run has ended, so a worker that dies
mid-run leaves it to be redelivered (to the same station, when it is back).
"""

from __future__ import annotations

import os
import re
from typing import Any

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
BROKER_ENV = "RACKVAL_BROKER"
TASK_NAME = "rackval.factory.run"


def broker_url(url: str | None = None) -> str:
    return url or os.environ.get(BROKER_ENV) or DEFAULT_BROKER


def redact_broker(url: str) -> str:
    """The broker URL without its password, for logs and messages."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def station_queue(station_id: str) -> str:
    """The queue only ``station_id``'s worker consumes."""
    return f"rackval.station.{station_id}"


def make_app(broker: str | None = None) -> Any:
    """A Celery app on ``broker`` (Celery is imported here, never at rackval's import)."""
    from celery import Celery

    app = Celery("rackval", broker=broker_url(broker))
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,  # a lost worker's message goes back to its queue
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a broker restart: keep trying, do not exit
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_create_missing_queues=True,
        # a run lasts as long as it lasts: RabbitMQ's 30-minute delivery timeout must not fire
        broker_transport_options={"confirm_publish": True},
    )
    return app
