"""``rackval factory status``: every station from its heartbeat row, and its run from the central store;
with a broker, also live from RabbitMQ: runs queued per station queue, and which workers answer a ping.

A station is *offline* when its worker has not written its heartbeat for
:data:`OFFLINE_AFTER_S` (by the database's own clock: stations' clocks may differ).
Either source may be away: the list then comes from the other, and
:class:`StatusReport`'s ``store_error`` / ``broker_error`` say which could not be read.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from rackval.factory.tables import ensure_tables, stations
from rackval.results.store import ResultsStore

OFFLINE_AFTER_S = 10.0


@dataclass(frozen=True)
class StationStatus:
    station_id: str
    state: str  # idle, running, recovering, offline
    run_id: str | None
    rack_serial: str | None
    item_done: int | None
    item_total: int | None
    beat_age_s: float
    host: str | None
    queued: int | None = None  # runs waiting in the station's queue (None: the broker was not asked)
    broker_seen: bool | None = None  # its worker answered a ping (None: the broker was not asked)

    def describe(self) -> str:
        if self.state == "running":
            items = f", item {self.item_done} of {self.item_total}" if self.item_total is not None else ""
            text = f"running {self.rack_serial} (run {self.run_id}{items})"
        elif self.state == "offline":
            text = (
                f"offline (last heartbeat {self.beat_age_s:.0f} s ago)"
                if self.beat_age_s >= 0
                else "offline (no heartbeat)"
            )
        else:
            text = self.state
        if self.queued:
            text += f", {self.queued} queued"
        if self.broker_seen is True and self.state == "offline":
            text += " (its worker answers the broker)"
        return text


class StatusReport(list):  # list[StationStatus]: callers of factory_status use it as the plain list
    """The stations, and why a source could not be read (None: it was read)."""

    store_error: str | None = None
    broker_error: str | None = None


def factory_status(
    central_url: str, offline_after_s: float = OFFLINE_AFTER_S, *, broker: str | None = None
) -> list[StationStatus]:
    """Every station. Without ``broker`` as before (heartbeats only; an unreachable store raises).

    With ``broker``, a :class:`StatusReport`: the heartbeat view merged with the broker's
    (queued runs, ping answers); a source that cannot be read is named in the report's
    ``store_error``/``broker_error`` and the other one's view is returned.
    """
    if broker is None:
        return _from_store(central_url, offline_after_s)
    from rackval.results.store import redact

    report = StatusReport()
    try:
        found = {st.station_id: st for st in _from_store(central_url, offline_after_s)}
    except Exception as exc:
        report.store_error = f"the central store {redact(central_url)} is unreachable ({type(exc).__name__})"
        found = {}
    try:
        live = broker_view(broker, list(found))
    except Exception as exc:
        from rackval.factory.app import redact_broker

        report.broker_error = f"the broker {redact_broker(broker)} is unreachable ({_reason(exc)})"
        report.extend(found.values())
        return report
    pinged, queued = live
    for station_id in sorted(set(found) | set(pinged) | set(queued)):
        st = found.get(station_id) or StationStatus(
            station_id, "idle" if station_id in pinged else "offline", None, None, None, None, -1.0, None
        )
        if station_id not in found and station_id in pinged:
            st = replace(st, host=pinged[station_id])
        report.append(replace(st, queued=queued.get(station_id, 0), broker_seen=station_id in pinged))
    return report


def _reason(exc: BaseException) -> str:
    from rackval.factory.app import redact_broker

    return redact_broker(str(exc)) or type(exc).__name__


def broker_view(
    broker: str, known: list[str], timeout_s: float = 1.0
) -> tuple[dict[str, str], dict[str, int]]:
    """Which station workers answer a ping (station id -> host) and runs queued per station queue.

    Queue depths by a passive declare of each known station's queue and of every pinged
    worker's (a queue that does not exist is simply not there: nothing is created).
    """
    from rackval.factory.app import make_app, station_queue

    app = make_app(broker)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0.5)
            replies = app.control.ping(timeout=timeout_s, connection=conn) or []
            pinged: dict[str, str] = {}
            for reply in replies:
                for name in reply:  # "<station id>@<host>" (worker.serve names it so)
                    station_id, _, host = name.rpartition("@")
                    pinged[station_id or name] = host
            queued: dict[str, int] = {}
            for station_id in sorted(set(known) | set(pinged)):
                depth = _queue_depth(conn, station_queue(station_id))
                if depth is not None:
                    queued[station_id] = depth
            return pinged, queued
    finally:
        app.close()


def _queue_depth(conn: Any, queue: str) -> int | None:
    from amqp.exceptions import NotFound

    channel = conn.channel()
    try:
        _, messages, _ = channel.queue_declare(queue=queue, passive=True)
        return int(messages)
    except NotFound:
        return None  # the passive declare failing closed that channel
    finally:
        with contextlib.suppress(Exception):
            channel.close()


def _from_store(central_url: str, offline_after_s: float) -> list[StationStatus]:
    store = ResultsStore.open(central_url)
    try:
        ensure_tables(store.engine)
        with store.engine.connect() as conn:
            now: datetime = conn.execute(select(func.now())).scalar()
            rows = conn.execute(select(stations).order_by(stations.c.station_id)).all()
        found = []
        for r in rows:
            beat = r.beat_at if r.beat_at.tzinfo else r.beat_at.replace(tzinfo=now.tzinfo)
            age = (now - beat).total_seconds()
            state = "offline" if age > offline_after_s or r.state == "stopped" else r.state
            found.append(
                StationStatus(
                    r.station_id, state, r.run_id, r.rack_serial, r.item_done, r.item_total, age, r.host
                )
            )
        return found
    finally:
        store.close()
