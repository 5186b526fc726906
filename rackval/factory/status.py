"""``rackval factory status``: every station from its heartbeat row, and its run from the central store.

A station is *offline* when its worker has not written its heartbeat for
:data:`OFFLINE_AFTER_S` (by the database's own clock: stations' clocks may differ).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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

    def describe(self) -> str:
        if self.state == "running":
            items = f", item {self.item_done} of {self.item_total}" if self.item_total is not None else ""
            return f"running {self.rack_serial} (run {self.run_id}{items})"
        if self.state == "offline":
            return f"offline (last heartbeat {self.beat_age_s:.0f} s ago)"
        return self.state


def factory_status(central_url: str, offline_after_s: float = OFFLINE_AFTER_S) -> list[StationStatus]:
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
