"""A pytest plugin for child runs: was the network soak under way when the suite's first test began?

Loaded with ``-p tests.soak_probe``; writes ``{"early": bool, "first": nodeid}`` to
the file named by ``SOAK_PROBE`` at the network suite's first test, before its
fixtures are set up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from suites.network import conftest as network


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    out = Path(os.environ["SOAK_PROBE"])
    if out.exists() or "suites/network/" not in item.nodeid:
        return
    early = item.config.stash.get(network._EARLY_SOAK, None)
    out.write_text(json.dumps({"early": early is not None, "first": item.nodeid}))
