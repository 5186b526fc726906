"""Hooks rackval adds to pytest, for plugins that record or display results."""

from __future__ import annotations

import pytest


@pytest.hookspec
def pytest_rackval_measurement(measurement, nodeid):  # type: ignore[no-untyped-def]
    """A measurement was taken (and judged) in test ``nodeid``. Called as it happens."""


@pytest.hookspec
def pytest_rackval_run_started(run):  # type: ignore[no-untyped-def]
    """The rack is known and the run is about to start; ``run`` is a :class:`rackval.run.RunInfo`."""


@pytest.hookspec
def pytest_rackval_rack_ready(rack, items, config):  # type: ignore[no-untyped-def]
    """The rack session has started, as its first test is set up; called once per run.

    ``rack`` is the :class:`rackval.session.RackSession` (drivers connect on first
    use; a read-only run's snapshots are being read ahead), ``items`` the selected
    tests in run order. A suite starts here what may overlap the tests before its
    own (the network suite's error soak); what it starts it stops with
    ``rack.on_close(...)``, which runs before the drivers close.
    """


@pytest.hookspec
def pytest_rackval_sync():  # type: ignore[no-untyped-def]
    """Make every outcome and measurement recorded so far durable (it is about to be shown).

    Called by the run's display before it shows outcomes, at most every
    ``rackval.progress.REFRESH_S``; a results store flushes its writes here.
    """
