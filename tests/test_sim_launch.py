"""A ``--sim`` run launches its simulated rack as pytest starts and stops it however the run ends.

The child pytest loads a small plugin that finds the run's simulator process
(``python -m simulators.rack --parent-pid <run>``) in /proc: at the end of
collection (it was launched before any test ran) and after rackval's own
unconfigure (it was stopped and reaped, even when no rack test ran).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import ROOT

RACK = ROOT / "fixtures" / "racks" / "power-only.yaml"

WATCH = textwrap.dedent(
    """
    import json, os
    from pathlib import Path
    import pytest

    OUT = Path(os.environ["SIMWATCH_OUT"])
    seen = {}


    def simulators():
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                args = (entry / "cmdline").read_bytes().split(b"\\0")
            except OSError:
                continue
            if b"simulators.rack" in args and str(os.getpid()).encode() in args:
                found.append(int(entry.name))
        return found


    def pytest_collection_finish(session):
        seen["at_collection"] = simulators()


    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(config):
        seen["after_unconfigure"] = simulators()
        OUT.write_text(json.dumps(seen))
    """
)


def run_watched(tmp_path: Path, *args: str) -> tuple[dict[str, list[int]], subprocess.CompletedProcess]:
    (tmp_path / "simwatch.py").write_text(WATCH)
    out = tmp_path / "seen.json"
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}", SIMWATCH_OUT=str(out))
    cmd = [sys.executable, "-m", "pytest", "-p", "simwatch", "suites/power", "--rack", str(RACK), "--sim"]
    cmd += ["-p", "no:cacheprovider", "-q", "--results-dir", str(tmp_path / "results"), *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(out.read_text()), proc


def test_the_simulated_rack_starts_during_collection_and_is_stopped_after_the_run(tmp_path: Path):
    seen, proc = run_watched(tmp_path, "-k", "test_pdu_identity")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert len(seen["at_collection"]) == 1, seen
    assert seen["after_unconfigure"] == [], seen


def test_a_run_that_selects_no_rack_test_still_stops_its_simulated_rack(tmp_path: Path):
    seen, proc = run_watched(tmp_path, "-k", "no_such_test")
    assert proc.returncode == 5, proc.stdout[-2000:]  # pytest's "no tests ran"
    assert len(seen["at_collection"]) == 1, seen
    assert seen["after_unconfigure"] == [], seen
