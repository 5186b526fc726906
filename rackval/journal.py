"""A journal of state changes a run makes to a rack, written before each change.

Every destructive step first appends "about to change X; restore it to Y" and
fsyncs; after restoring it appends "restored". After a crash, the entries with
no matching "restored" line tell ``rackval restore`` what to put back.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Change:
    id: str
    device: str
    what: str  # "outlet", "supply_output", "load_input"...
    target: Any  # outlet index, channel...
    restore_to: Any  # "on", "off"...


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def begin(self, device: str, what: str, target: Any, restore_to: Any) -> Change:
        change = Change(uuid.uuid4().hex[:12], device, what, target, restore_to)
        self._append({"event": "change", **asdict(change)})
        return change

    def restored(self, change: Change) -> None:
        self._append({"event": "restored", "id": change.id})

    def pending(self) -> list[Change]:
        """Changes not yet restored, oldest first."""
        return pending_changes(self.path)


def journal_path(results_dir: Path, rack_serial: str, run_id: str) -> Path:
    """Where a run's journal goes: one folder per rack, one file per run."""
    return results_dir / "journals" / rack_serial / f"{run_id}.jsonl"


def pending_for_rack(results_dir: Path, rack_serial: str) -> list[tuple[Path, Change]]:
    """Every unrestored change any run made to this rack, oldest journal first."""
    folder = results_dir / "journals" / rack_serial
    found: list[tuple[Path, Change]] = []
    for path in sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime):
        found += [(path, change) for change in pending_changes(path)]
    return found


def pending_changes(path: Path) -> list[Change]:
    if not path.exists():
        return []
    open_changes: dict[str, Change] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line from a crash
        if rec.get("event") == "change":
            rec.pop("event")
            open_changes[rec["id"]] = Change(**rec)
        elif rec.get("event") == "restored":
            open_changes.pop(rec.get("id"), None)
    return list(open_changes.values())
