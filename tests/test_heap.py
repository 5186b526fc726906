"""A rack run freezes what collection built and what it still holds once its tests are done.

It hands both back at the end. The child pytest runs the demo rack's data only
(no devices). A small plugin records ``gc.get_freeze_count()`` when the first
test is set up and when the terminal summary starts; the child's
own script records it again after ``pytest.main`` returns. A test leaves a
reference cycle whose finalizer raises: pytest must still report that error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import DEMO_RACK, ROOT

TESTS = textwrap.dedent(
    """
    import gc


    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            raise RuntimeError("finalizer of a cycle the run left behind")


    def test_leaves_a_cycle(outlet):
        Cycle()
    """
)

WATCH = textwrap.dedent(
    """
    import gc
    import pytest

    seen = {}


    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup():
        seen.setdefault("at_first_test", gc.get_freeze_count())


    @pytest.hookimpl(tryfirst=True)
    def pytest_terminal_summary():
        seen["at_summary"] = gc.get_freeze_count()
    """
)

MAIN = textwrap.dedent(
    """
    import gc, json, sys
    import pytest
    import watch

    code = pytest.main(sys.argv[2:], plugins=[watch])
    watch.seen["after_main"] = gc.get_freeze_count()
    watch.seen["exit"] = int(code)
    open(sys.argv[1], "w").write(json.dumps(watch.seen))
    """
)


def run_child(tmp_path: Path, *args: str) -> tuple[dict[str, int], str]:
    (tmp_path / "test_cycle.py").write_text(TESTS)
    (tmp_path / "watch.py").write_text(WATCH)
    (tmp_path / "main.py").write_text(MAIN)
    out = tmp_path / "seen.json"
    cmd = [sys.executable, str(tmp_path / "main.py"), str(out), str(tmp_path / "test_cycle.py")]
    cmd += ["-p", "no:cacheprovider", "-q", "-k", "pdu-a/1]", *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert out.exists(), proc.stdout + proc.stderr
    return json.loads(out.read_text()), proc.stdout + proc.stderr


def test_rack_run_freezes_after_collection_and_its_tests_and_unfreezes_at_the_end(tmp_path):
    seen, output = run_child(tmp_path, "--rack", str(DEMO_RACK), "--results-dir", str(tmp_path / "results"))
    assert seen["exit"] == 0, output
    assert seen["at_first_test"] > 10_000, "what collection built should be frozen before the tests"
    assert seen["at_summary"] > seen["at_first_test"], "what the tests made should be frozen after them"
    assert seen["at_summary"] > 10_000, "the run's survivors should be frozen before the terminal summary"
    assert seen["after_main"] == 0, "pytest.main should hand every frozen object back"
    # the cycle was collected by rackval's collection, and pytest still reported its finalizer's error
    assert "finalizer of a cycle the run left behind" in output
    assert "PytestUnraisableExceptionWarning" in output


def test_a_run_without_a_rack_leaves_the_collector_alone(tmp_path):
    seen, output = run_child(tmp_path)
    assert seen["exit"] == 5, output  # the only test needs a rack: deselected by -k, nothing ran
    assert "at_first_test" not in seen
    assert seen["at_summary"] == 0
    assert seen["after_main"] == 0
