"""Shared helpers for rackval's own tests."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_RACK = ROOT / "fixtures" / "racks" / "demo.yaml"
SCENARIOS = ROOT / "fixtures" / "scenarios"
SHARED = ROOT.parent / "shared"

# suites and racks that tests run in child processes; not tests of their own
collect_ignore = ["data"]

# A script started in the background by a non-interactive shell (`.ci/run &`) runs with
# SIGINT ignored, and every child inherits that: the tests' Ctrl-C would never arrive.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def services_required() -> bool:
    """CI sets RACKVAL_REQUIRE_SERVICES=1: a missing tool or service is then a failure."""
    return os.environ.get("RACKVAL_REQUIRE_SERVICES", "") not in ("", "0")


def require(condition: bool, what: str) -> None:
    """Skip on a developer laptop, fail in CI, when ``what`` is not available."""
    if condition:
        return
    if services_required():
        pytest.fail(f"{what} is required (RACKVAL_REQUIRE_SERVICES is set) but was not found")
    pytest.skip(f"{what} not available")


def require_tool(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"the {name!r} command")
    return path  # type: ignore[return-value]


def require_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    require(path.exists(), f"../shared/{'/'.join(parts)}")
    return path


DEMO_LIMITS = ROOT / "fixtures" / "limits" / "demo-limits.yaml"


def _limits_version() -> str:
    from rackval.limits import load_limits

    return load_limits(DEMO_LIMITS).version


DEMO_LIMITS_VERSION = _limits_version()


# -- the factory tests' central database and stations (tests/factory_helpers.py) ----------


@pytest.fixture(scope="module")
def central():
    """A fresh central PostgreSQL database for the module, dropped afterwards."""
    from tests.factory_helpers import fresh_database, require_services

    require_services()
    with fresh_database() as url:
        yield url


@pytest.fixture
def stations(tmp_path, central):
    """Simulated stations on the module's central database, stopped afterwards."""
    from tests.factory_helpers import Stations

    group = Stations(tmp_path, central)
    yield group
    group.close()


# -- the browser tests' headless Chromium (Debian's, driven by Playwright) ----------------


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright; never a downloaded browser."""
    from tests.web_helpers import chromium

    path = chromium()
    require(path is not None, "Debian's chromium (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "Playwright for Python (pip install playwright)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()
