"""Exporters of stored runs: JUnit (parsed by junitparser), OCP TV (validated against the
published JSON Schema) and HTML (rendered by headless Chromium), plus the results CLI.

The OCP schema is read from ../shared/ocp-tv-schema/: the files of
opencomputeproject/ocp-diag-core ``json_spec/output/`` (commit 8fae3f5, MIT;
see the README there). Nothing of it is vendored here.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError
from junitparser import Error, Failure, JUnitXml, Properties, Skipped
from referencing import Registry, Resource
from typer.testing import CliRunner

from rackval.results.cli import report_command, results_app
from rackval.results.ocptv import ocptv_lines
from rackval.results.store import ResultsStore
from tests.test_results_plugin import DEMO_RACK, REPO, new_run_id, run_suite, write_suite

SCHEMA_DIR = Path(os.environ.get("RACKVAL_SHARED_DIR", REPO.parent / "shared")) / "ocp-tv-schema"
FAILING = {"MINI_FAIL": "pdu-a/9,leaf-2/Ethernet8,swap,pdu-b/L2", "MINI_ERROR": "1"}


def _need(what: str, why: str) -> None:
    if os.environ.get("RACKVAL_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required (RACKVAL_REQUIRE_SERVICES=1): {why}")
    pytest.skip(f"{what} not available: {why}")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A passing and a failing run of the mini suite, with all three exports written."""
    base = tmp_path_factory.mktemp("exports")
    suite = write_suite(base / "suite")
    found: dict[str, Any] = {"results_dir": base / "res"}
    for name, env in (("pass", {}), ("fail", FAILING)):
        run_id = new_run_id()
        out = base / name
        res = run_suite(
            suite,
            f"--results-dir={base / 'res'}",
            f"--run-id={run_id}",
            f"--junit={out / 'junit.xml'}",
            f"--ocptv={out / 'ocptv.jsonl'}",
            f"--html={out / 'report.html'}",
            env=env,
        )
        assert res.returncode == (0 if name == "pass" else 1), res.stdout + res.stderr
        found[name] = {"run_id": run_id, "dir": out}
    return found


# -- JUnit -----------------------------------------------------------------------


def _cases(path: Path) -> dict[str, Any]:
    xml = JUnitXml.fromfile(str(path))
    return {case.name: case for suite in xml for case in suite}


def _props(case: Any) -> dict[str, str]:
    return {p.name: p.value for props in case.iterchildren(Properties) for p in props}


def test_junit_parses_with_measurements_as_testcase_properties(runs: dict[str, Any]) -> None:
    xml = JUnitXml.fromfile(str(runs["fail"]["dir"] / "junit.xml"))
    (suite,) = list(xml)
    assert (suite.name, suite.tests, suite.failures, suite.errors, suite.skipped) == (
        "test_mini.py",
        40,
        4,
        1,
        1,
    )
    suite_props = {p.name: p.value for p in suite.properties()}
    assert suite_props["rack_serial"] == "RK-DEMO-0001"
    assert suite_props["run_id"] == runs["fail"]["run_id"]
    assert suite_props["run_outcome"] == "fail"

    cases = _cases(runs["fail"]["dir"] / "junit.xml")
    bad = cases["test_outlet_current[pdu-a/9]"]
    assert bad.classname == "test_mini"
    (failure,) = bad.result
    assert isinstance(failure, Failure)
    assert "pdu-a outlet 9 (srv-04-psu1): outlet_current = 0 A" in failure.message
    assert _props(bad) == {
        "rack_item": "pdu-a/9",
        "device": "pdu-a",
        "measurement:outlet_current:pdu-a/9": "0 A (fail; limit 1.5–3.5 A)",
    }
    phases = _props(cases["test_phase_current[pdu-b]"])
    assert phases["measurement:phase_current:pdu-b/L2"] == "14 A (fail; limit ≤ 12.8 A)"
    assert isinstance(cases["test_bench_ready"].result[0], Error)
    assert isinstance(cases["test_manual_check"].result[0], Skipped)
    assert cases["test_outlet_current[pdu-a/1]"].is_passed

    passing = _cases(runs["pass"]["dir"] / "junit.xml")
    assert len(passing) == 40
    assert not any(c.is_failure or c.is_error for c in passing.values())


# -- OCP Test & Validation ---------------------------------------------------------


@pytest.fixture(scope="module")
def ocp_validator() -> Draft202012Validator:
    if not (SCHEMA_DIR / "root.json").is_file():
        _need("the OCP TV schema", f"{SCHEMA_DIR} not found")
    docs = [json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob("*.json"))]
    registry = Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in docs)
    root = next(d for d in docs if d["$id"].endswith("/ocp-diag-core/output"))
    # without a date-time checker (jsonschema's format extra), timestamps would go unchecked
    assert "date-time" in Draft202012Validator.FORMAT_CHECKER.checkers, "install jsonschema[format-nongpl]"
    return Draft202012Validator(root, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _validate_stream(path: Path, validator: Draft202012Validator) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        errors = sorted(validator.iter_errors(line), key=str)
        assert not errors, f"{line}: {errors[0].message}"
    assert [line["sequenceNumber"] for line in lines] == list(range(len(lines)))
    assert lines[0]["schemaVersion"] == {"major": 2, "minor": 0}
    assert "testRunStart" in lines[1]["testRunArtifact"]
    assert "testRunEnd" in lines[-1]["testRunArtifact"]
    return lines


def _steps(lines: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [ln["testStepArtifact"][key] for ln in lines if key in ln.get("testStepArtifact", {})]


def test_the_validator_rejects_what_the_spec_forbids(ocp_validator: Draft202012Validator) -> None:
    good = {
        "schemaVersion": {"major": 2, "minor": 0},
        "sequenceNumber": 0,
        "timestamp": "2026-01-01T00:00:00Z",
    }
    ocp_validator.validate(good)
    for bad in (
        {**good, "timestamp": "yesterday"},
        {**good, "schemaVersion": {"major": 1, "minor": 0}},
        {
            "sequenceNumber": 1,
            "timestamp": good["timestamp"],
            "testStepArtifact": {"testStepId": "s", "measurement": {"value": 1}},
        },
    ):
        with pytest.raises(ValidationError):
            ocp_validator.validate(bad)


@pytest.mark.parametrize("name", ["pass", "fail"])
def test_ocptv_output_validates_against_the_spec(
    runs: dict[str, Any], name: str, ocp_validator: Draft202012Validator
) -> None:
    lines = _validate_stream(runs[name]["dir"] / "ocptv.jsonl", ocp_validator)
    start = lines[1]["testRunArtifact"]["testRunStart"]
    assert start["dutInfo"]["dutInfoId"] == "RK-DEMO-0001"
    assert {h["hardwareInfoId"] for h in start["dutInfo"]["hardwareInfos"]} == {
        "pdu-a",
        "pdu-b",
        "leaf-1",
        "leaf-2",
    }
    assert start["metadata"]["runId"] == runs[name]["run_id"]
    end = lines[-1]["testRunArtifact"]["testRunEnd"]
    assert end == {"status": "COMPLETE", "result": "PASS" if name == "pass" else "FAIL"}
    assert len(_steps(lines, "testStepStart")) == len(_steps(lines, "testStepEnd")) == 40
    measurements = _steps(lines, "measurement")
    # a failing measurement ends its test: pdu-b's L3 is not measured in the failing run
    assert len(measurements) == 18 + 6 - (name == "fail")
    outlet = next(m for m in measurements if m["subcomponent"]["name"] == "pdu-a/9")
    assert outlet["validators"] == [
        {"name": "low", "type": "GREATER_THAN_OR_EQUAL", "value": 1.5},
        {"name": "high", "type": "LESS_THAN_OR_EQUAL", "value": 3.5},
    ]
    assert outlet["hardwareInfoId"] == "pdu-a" and outlet["unit"] == "A"
    diagnoses = _steps(lines, "diagnosis")
    if name == "fail":
        assert outlet["value"] == 0.0
        failed = [d for d in diagnoses if d["type"] == "FAIL"]
        where = {(d["hardwareInfoId"], d.get("subcomponent", {}).get("name")) for d in failed}
        assert where == {
            ("pdu-a", "pdu-a/9"),
            ("leaf-2", "leaf-2/Ethernet8"),
            ("leaf-1", "leaf-1/Ethernet3"),
            ("pdu-b", None),
        }
        assert any("outlet_current = 0 A" in d["message"] for d in failed)
        assert [e["symptom"] for e in _steps(lines, "error")] == ["test-error"]
    else:
        assert {d["type"] for d in diagnoses} == {"PASS"}


def test_ocptv_of_a_killed_run_still_validates(
    runs: dict[str, Any], ocp_validator: Draft202012Validator, tmp_path: Path
) -> None:
    from rackval.measurement import judge
    from rackval.run import RunInfo

    store = ResultsStore.open(None, tmp_path)
    run = RunInfo("RK-9", "M", "1", "l.yaml", "1")
    store.start_run(run, pid=2**22 + 12345)  # no such process: the run died
    store.record_measurement(run.run_id, "t::a", judge("v", 1.0, limit=None, device="d", item="d/1"))
    lines = ocptv_lines(store.report(run.run_id))
    for line in lines:
        ocp_validator.validate(line)
    assert lines[-1]["testRunArtifact"]["testRunEnd"] == {
        "status": "ERROR",
        "result": "NOT_APPLICABLE",
    }
    assert _steps(lines, "testStepEnd") == [{"status": "ERROR"}]
    store.close()


@pytest.mark.parametrize("scenario,outcome", [("nominal", "PASS"), ("dead-outlet", "FAIL")])
def test_demo_power_run_exports_validate(
    scenario: str, outcome: str, ocp_validator: Draft202012Validator, tmp_path: Path
) -> None:
    """The demo rack's power suite against its simulated rack, passing and failing."""
    import subprocess as sp
    import sys

    run_id = new_run_id()
    res = sp.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(REPO / "suites" / "power"),
            "-q",
            "-p",
            "no:cacheprovider",
            f"--rack={DEMO_RACK}",
            f"--sim={REPO / 'fixtures' / 'scenarios' / f'{scenario}.yaml'}",
            f"--results-dir={tmp_path / 'res'}",
            f"--run-id={run_id}",
            f"--ocptv={tmp_path / 'o.jsonl'}",
            f"--junit={tmp_path / 'j.xml'}",
            f"--html={tmp_path / 'r.html'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert res.returncode == (0 if outcome == "PASS" else 1), res.stdout[-3000:] + res.stderr
    lines = _validate_stream(tmp_path / "o.jsonl", ocp_validator)
    assert lines[-1]["testRunArtifact"]["testRunEnd"]["result"] == outcome
    assert any(m["name"] == "phase_current" for m in _steps(lines, "measurement"))
    cases = _cases(tmp_path / "j.xml")
    failed = {name for name, c in cases.items() if c.is_failure or c.is_error}
    if outcome == "FAIL":
        assert "test_outlet_current[pdu-a/3]" in failed
    else:
        assert not failed
    assert "Phase current per PDU" in (tmp_path / "r.html").read_text()


# -- HTML ------------------------------------------------------------------------


def test_html_is_self_contained_with_failures_first(runs: dict[str, Any]) -> None:
    page = (runs["fail"]["dir"] / "report.html").read_text()
    assert '<header class="banner fail"' in page and "Rack RK-DEMO-0001" in page
    assert "<script src" not in page and "cdn.plot.ly" not in page.replace("cdn.plot.ly/", "")
    failures = page.index('id="failures"')
    assert failures < page.index("Phase current per PDU") < page.index("Suite test_mini.py")
    first_failure_row = page.index("pdu-a outlet 9 (srv-04-psu1)", failures)
    assert first_failure_row < page.index("Suite test_mini.py")
    for picture in ("Outlet map", "Cabling matrix", "Phase current per PDU"):
        assert picture in page
    assert "swapped with leaf-1/Ethernet4" in page
    passing = (runs["pass"]["dir"] / "report.html").read_text()
    assert '<header class="banner pass"' in passing and "<p>None.</p>" in passing


def _png_pixel(path: Path, x: int, y: int) -> tuple[int, int, int]:
    """One pixel of an 8-bit RGB/RGBA PNG (enough of a decoder to check a screenshot)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, _height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    for row in range(y + 1):
        start = row * (stride + 1)
        ftype, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        prev = line
    r, g, b = prev[x * bpp : x * bpp + 3]
    return r, g, b


@pytest.mark.parametrize("name,banner", [("fail", (0xC6, 0x28, 0x28)), ("pass", (0x2E, 0x7D, 0x32))])
def test_html_renders_in_headless_chromium(
    runs: dict[str, Any], name: str, banner: tuple[int, int, int], tmp_path: Path
) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _need("headless Chromium", "no chromium on PATH (Debian package 'chromium')")
    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    profile.mkdir()
    page = (runs[name]["dir"] / "report.html").resolve()
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            "--virtual-time-budget=10000",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 50_000  # charts and tables, not a blank page
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])
    assert (width, height) == (1280, 2000)
    # the banner across the top is drawn in the outcome's colour
    assert _png_pixel(shot, 5, 5) == banner
    assert _png_pixel(shot, 5, 1990) != banner


# -- CLI -------------------------------------------------------------------------


def test_results_cli_lists_and_shows_runs(runs: dict[str, Any]) -> None:
    cli = CliRunner()
    res_dir = str(runs["results_dir"])
    env = {"COLUMNS": "250"}
    listed = cli.invoke(results_app, ["list", "--results-dir", res_dir], env=env)
    assert listed.exit_code == 0, listed.output
    assert runs["pass"]["run_id"] in listed.output and runs["fail"]["run_id"] in listed.output
    only_fail = cli.invoke(results_app, ["list", "--outcome", "fail", "--results-dir", res_dir], env=env)
    assert runs["fail"]["run_id"] in only_fail.output
    assert runs["pass"]["run_id"] not in only_fail.output

    shown = cli.invoke(results_app, ["show", runs["fail"]["run_id"], "--results-dir", res_dir], env=env)
    assert shown.exit_code == 0, shown.output
    assert "FAIL" in shown.output and "RK-DEMO-0001" in shown.output
    assert "test_mini.py::test_outlet_current[pdu-a/9]" in shown.output
    assert "missing (no LLDP neighbour)" in shown.output
    assert "bench instrument not ready" in shown.output

    missing = cli.invoke(results_app, ["show", "nope", "--results-dir", res_dir], env=env)
    assert missing.exit_code != 0 and "no run 'nope'" in missing.output

    status = cli.invoke(results_app, ["status", "RK-DEMO-0001", "--results-dir", res_dir], env=env)
    assert status.exit_code == 0 and "rack RK-DEMO-0001: FAIL" in status.output


@pytest.mark.parametrize("fmt,ext", [("junit", "xml"), ("ocptv", "jsonl"), ("html", "html")])
def test_report_command_exports_a_stored_run(
    runs: dict[str, Any], fmt: str, ext: str, tmp_path: Path
) -> None:
    run_id = runs["fail"]["run_id"]
    written = report_command(run_id[:10], fmt, None, None, runs["results_dir"])
    assert written == runs["results_dir"] / "reports" / f"{run_id}.{ext}"
    # the same stored run exports the same file the run itself wrote at its end
    original = (
        runs["fail"]["dir"] / {"junit": "junit.xml", "ocptv": "ocptv.jsonl", "html": "report.html"}[fmt]
    )
    assert written.read_text() == original.read_text()
    target = report_command(run_id, fmt, tmp_path / f"x.{ext}", None, runs["results_dir"])
    assert target.stat().st_size > 0
