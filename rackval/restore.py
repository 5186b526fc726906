"""``rackval restore``: put a rack back in its safe state after a run that could not clean up
(crash, SIGKILL, power cut).

The journal says what each run changed and what to restore it to; every
change without a "restored" record is undone (:func:`rackval.safestate.restore_pending`).
Devices whose kind has a safe state (bench instruments: outputs and inputs
off) are made safe whatever the journal says: it costs nothing to make sure.
"""

from __future__ import annotations

import json
from pathlib import Path

from rackval.devices import DeviceRegistry
from rackval.model import load_rack
from rackval.safestate import RestoreAction, restore_pending
from rackval.station import station_for_rack


def restore_from_files(
    rack_file: Path, results_dir: Path, endpoints_file: Path | None = None
) -> list[RestoreAction]:
    """Load the rack (and a simulator overlay) and undo its pending changes."""
    rack = load_rack(rack_file)
    overlay = json.loads(endpoints_file.read_text())["devices"] if endpoints_file else None
    devices = DeviceRegistry(rack, station_for_rack(rack), overlay)
    try:
        return restore_pending(devices, results_dir)
    finally:
        devices.close()
