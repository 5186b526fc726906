"""Changes a run makes to a rack, journaled before they are made, and how each is undone.

The one change/undo type of rackval: a destructive test (through the
``restore`` fixture), the concurrent outlet switching and ``rackval restore``
all go through :class:`SafeState`. What a change means and how it is put back
belongs to the device's kind (:attr:`rackval.kinds.DeviceKind.undo`), so a
new kind brings its own changes with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.errors import DeviceError
from rackval.devices import DeviceRegistry
from rackval.errors import ConfigError
from rackval.journal import Change, Journal, pending_for_rack
from rackval.kinds import Undo


@dataclass(frozen=True)
class RestoreAction:
    description: str
    ok: bool
    detail: str = ""


def describe(change: Change) -> str:
    return f"{change.device} {change.what} {change.target} -> {change.restore_to}"


class SafeState:
    """Begin a change (journal what to put back), restore it (and journal that)."""

    def __init__(
        self,
        devices: DeviceRegistry,
        journal: Journal | None = None,
        changed: Callable[[str], None] = lambda device: None,
    ) -> None:
        self.devices = devices
        self.journal = journal
        self.changed = changed  # told after a device's state was put back (drop stale snapshots)

    def _undo(self, device: str, what: str) -> Undo:
        kind = self.devices.entry(device).kind
        try:
            return kind.undo[what]
        except KeyError:
            known = ", ".join(sorted(kind.undo)) or "none"
            raise ConfigError(
                f"{device}: a {kind.name} has no change {what!r} to undo (known: {known})"
            ) from None

    def read(self, device: str, what: str, target: Any) -> Any:
        return self._undo(device, what).read(self.devices.driver(device), target)

    def begin(self, device: str, what: str, target: Any) -> Change:
        """Read what ``target`` of ``device`` is now and journal it, before changing it."""
        before = self.read(device, what, target)
        if self.journal is not None:
            return self.journal.begin(device, what, target, before)
        return Change(uuid.uuid4().hex[:12], device, what, target, before)

    def restore(self, change: Change, *, check_first: bool = True) -> None:
        """Put ``change`` back (skipped when the device already is so) and journal it."""
        undo = self._undo(change.device, change.what)
        driver = self.devices.driver(change.device)
        try:
            if not check_first or undo.read(driver, change.target) != change.restore_to:
                undo.apply(driver, change.target, change.restore_to)
        finally:
            self.changed(change.device)
        if self.journal is not None:
            self.journal.restored(change)

    def restore_left(self) -> list[str]:
        """Put back, newest first, every change of this journal not restored yet; the problems.

        The session's safety net, run as it closes: a change whose own undo never ran
        (a fixture interrupted in its setup gets no teardown from pytest) is put back
        here rather than left for ``rackval restore``. What cannot be put back stays
        journaled.
        """
        problems = []
        for change in reversed(self.journal.pending() if self.journal is not None else []):
            try:
                self.restore(change)
            except (DeviceError, ConfigError) as exc:
                problems.append(f"could not restore {describe(change)}: {exc}")
        return problems


def restore_pending(devices: DeviceRegistry, results_dir: Path) -> list[RestoreAction]:
    """``rackval restore``: undo every journaled change no run restored; make every device safe
    whose kind has a safe state (bench instruments: outputs and inputs off)."""
    actions: list[RestoreAction] = []
    for path, change in pending_for_rack(results_dir, devices.rack.rack.serial):
        try:
            SafeState(devices, Journal(path)).restore(change, check_first=False)
            actions.append(RestoreAction(describe(change), True))
        except (DeviceError, ConfigError, KeyError) as exc:
            actions.append(RestoreAction(describe(change), False, str(exc)))
    for name, entry in devices.entries.items():
        if entry.kind.make_safe is None:
            continue
        what = f"{name} {entry.kind.safe_state_text}"
        try:
            entry.kind.make_safe(devices.driver(name))
            actions.append(RestoreAction(what, True))
        except (DeviceError, ConfigError) as exc:
            actions.append(RestoreAction(what, False, str(exc)))
    return actions
