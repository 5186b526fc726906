"""rackval's pytest surface: every hook and fixture, in one package; the logic is elsewhere.

- :mod:`.core`: options, the run configuration, parametrization over rack items,
  the ``rack``/``limits``/``measure``/``restore`` fixtures, technician-readable failures.
- :mod:`.station`: ``station``/``instruments`` fixtures, parametrization over the bench.
- :mod:`.prompts`: the ``operator`` fixture (manual steps).
- :mod:`.results`: records the run in the results store as it happens; exports it.
- :mod:`.preflight`: the pre-flight check ``rackval run`` does before the first test.

The session's state is one :class:`RunState` in ``config.stash``
(:func:`run_state`); plugins read it, none reaches into another's objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from rackval.config import RunConfig
from rackval.run import RunInfo
from rackval.session import RackSession


@dataclass
class RunState:
    """What this pytest session knows about its run."""

    config: RunConfig
    run: RunInfo | None  # None without a rack
    session: RackSession | None = None  # the rack under test, once the ``rack`` fixture started
    sim: Any = None  # rackval.simprocess.SimProcess when simulating
    sim_launch: Any = None  # rackval.simprocess.SimLaunch: the simulated rack, launched as pytest starts
    items: list[pytest.Item] = field(default_factory=list)  # the tests collected (selected) to run
    item: pytest.Item | None = None  # the test now running


RUN_STATE = pytest.StashKey[RunState]()


def run_state(config: pytest.Config) -> RunState | None:
    """The session's run state (None when pytest runs without rackval's configuration)."""
    return config.stash.get(RUN_STATE, None)


def rack_run(config: pytest.Config) -> RunState | None:
    """The run state when the session tests a rack (``--rack`` or a CLI run), else None."""
    state = run_state(config)
    return state if state is not None and state.config.rack is not None else None
