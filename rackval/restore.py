"""Put a rack back in its safe state after a run that could not clean up (crash, SIGKILL).

The journal says what each run changed and what to restore it to; every
change without a "restored" record is undone here. Station instruments are
made safe whatever the journal says (outputs and inputs off): that is their
safe state, and it costs nothing to make sure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.errors import DeviceError
from rackval.errors import ConfigError
from rackval.journal import Journal, pending_for_rack
from rackval.session import RackSession


@dataclass(frozen=True)
class RestoreAction:
    description: str
    ok: bool
    detail: str = ""


def restore_rack(session: RackSession, results_dir: Path, bench: Any = None) -> list[RestoreAction]:
    """Undo every pending journaled change; make every ``bench`` instrument safe."""
    actions: list[RestoreAction] = []
    for path, change in pending_for_rack(results_dir, session.rack.rack.serial):
        what = f"{change.device} {change.what} {change.target} -> {change.restore_to}"
        try:
            if change.what != "outlet":
                raise ValueError(f"no way to restore {change.what!r}")
            session.driver(change.device).set_outlet(int(change.target), change.restore_to)
            Journal(path).restored(change)
            actions.append(RestoreAction(what, True))
        except (DeviceError, ValueError) as exc:
            actions.append(RestoreAction(what, False, str(exc)))
    if bench is not None:
        for name in bench.station.instruments:
            what = f"{name} outputs and inputs off"
            try:
                bench[name].safe_state()
                actions.append(RestoreAction(what, True))
            except (DeviceError, ConfigError) as exc:
                actions.append(RestoreAction(what, False, str(exc)))
    return actions


def restore_from_files(
    rack_file: Path, results_dir: Path, endpoints_file: Path | None = None
) -> list[RestoreAction]:
    """``rackval restore``: load the rack (and a simulator overlay) and undo pending changes."""
    import json

    from rackval.model import load_rack
    from rackval.station import station_for_rack
    from rackval.station_plugin import StationInstruments

    rack = load_rack(rack_file)
    overlay = json.loads(endpoints_file.read_text())["devices"] if endpoints_file else None
    session = RackSession(rack, overlay)
    station = station_for_rack(rack)
    bench = StationInstruments(station, overlay) if station is not None else None
    try:
        return restore_rack(session, results_dir, bench)
    finally:
        if bench is not None:
            bench.close()
        session.close()
