"""OCP Test & Validation output (ocp-diag-core, output spec 2.0) of a stored run, as JSON Lines.

The stream: ``schemaVersion``; ``testRunStart`` with the rack as DUT (its
managed devices as hardware infos, rackval as software info); per test one
step (``testStepStart``, its measurements with validators, a diagnosis, a log
or error for failures, ``testStepEnd``); ``testRunEnd``. Every line has a
``sequenceNumber`` counting from 0 and an RFC 3339 ``timestamp``.

Limits map to validators: ``low``/``high`` to GREATER_THAN_OR_EQUAL /
LESS_THAN_OR_EQUAL, ``expected`` to EQUAL. A set of allowed values
(``one_of``) becomes one REGEX_MATCH of the alternatives, because the
published schema allows only a scalar validator value (not IN_SET's list).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from rackval.results.store import MeasurementRecord, RunReport, TestRecord

SCHEMA_VERSION = {"major": 2, "minor": 0}

_STEP_STATUS = {"passed": "COMPLETE", "failed": "COMPLETE", "skipped": "SKIP", "error": "ERROR"}


def _ts(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _scalar(value: Any) -> str | bool | int | float:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return str(value)


def validators(limit: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not limit:
        return []
    found: list[dict[str, Any]] = []
    if limit.get("low") is not None:
        found.append({"name": "low", "type": "GREATER_THAN_OR_EQUAL", "value": limit["low"]})
    if limit.get("high") is not None:
        found.append({"name": "high", "type": "LESS_THAN_OR_EQUAL", "value": limit["high"]})
    if limit.get("expected") is not None:
        found.append({"name": "expected", "type": "EQUAL", "value": _scalar(limit["expected"])})
    if limit.get("one_of") is not None:
        pattern = "^(" + "|".join(re.escape(str(v)) for v in limit["one_of"]) + ")$"
        found.append({"name": "one_of", "type": "REGEX_MATCH", "value": pattern})
    return found


def _measurement(m: MeasurementRecord, hardware: set[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": m.name, "value": _scalar(m.value)}
    if m.units:
        body["unit"] = m.units
    checks = validators(m.limit)
    if checks:
        body["validators"] = checks
    if m.device in hardware:
        body["hardwareInfoId"] = m.device
    if m.item and m.item != m.device:
        body["subcomponent"] = {"name": m.item}
    body["metadata"] = {"outcome": m.outcome, "item": m.item}
    return body


def _dut_info(report: RunReport) -> dict[str, Any]:
    run = report.run
    plan = run.rack_plan or {}
    devices = {**plan.get("pdus", {}), **plan.get("switches", {})}
    return {
        "dutInfoId": run.rack_serial,
        "name": f"{run.rack_model} {run.rack_serial}",
        "platformInfos": [{"info": run.rack_model}],
        "softwareInfos": [
            {
                "softwareInfoId": "rackval",
                "name": "rackval",
                "version": run.rackval_version,
                "softwareType": "APPLICATION",
            }
        ],
        "hardwareInfos": [{"hardwareInfoId": name, "name": name} for name in sorted(devices)],
        "metadata": {"planVersion": run.plan_version},
    }


def artifacts(report: RunReport) -> Iterator[tuple[datetime, dict[str, Any]]]:
    """(timestamp, artifact) pairs of the whole stream, in order, without sequence numbers."""
    run = report.run
    yield run.started_at, {"schemaVersion": SCHEMA_VERSION}
    parameters = {
        "rackSerial": run.rack_serial,
        "rackModel": run.rack_model,
        "planVersion": run.plan_version,
        "stationId": run.station_id,
        "operatorId": run.operator_id,
        "suites": run.suites,
        "suiteVersion": run.suite_version,
        "limitsFile": run.limits_file,
        "limitsVersion": run.limits_version,
    }
    start = {
        "name": "rackval",
        "version": run.rackval_version,
        "commandLine": run.command_line or "",
        "parameters": parameters,
        "dutInfo": _dut_info(report),
        "metadata": {"runId": run.run_id, "retestOf": run.retest_of, "scenario": run.scenario},
    }
    yield run.started_at, {"testRunArtifact": {"testRunStart": start}}
    hardware = {h["hardwareInfoId"] for h in start["dutInfo"]["hardwareInfos"]}
    last = run.started_at
    for n, test in enumerate(report.tests):
        step = f"step{n}"
        yield from _step(step, test, report.by_node.get(test.nodeid, []), hardware)
        last = max(last, test.finished_at)
    for n, nodeid in enumerate(report.unfinished_nodes(), start=len(report.tests)):
        # the run died during this test: what it measured is kept, the step ends in error
        ms = report.by_node[nodeid]
        step = f"step{n}"
        yield ms[0].timestamp, _step_art(step, {"testStepStart": {"name": nodeid}})
        for m in ms:
            yield m.timestamp, _step_art(step, {"measurement": _measurement(m, hardware)})
        err = {"symptom": "test-interrupted", "message": "the run ended before this test finished"}
        yield ms[-1].timestamp, _step_art(step, {"error": err})
        yield ms[-1].timestamp, _step_art(step, {"testStepEnd": {"status": "ERROR"}})
        last = max(last, ms[-1].timestamp)
    end_at = run.ended_at or last
    if run.outcome in ("aborted", "running"):
        message = f"run {run.run_id} did not finish ({run.outcome})"
        yield end_at, {"testRunArtifact": {"error": {"symptom": "run-aborted", "message": message}}}
    status = {"pass": "COMPLETE", "fail": "COMPLETE"}.get(run.outcome, "ERROR")
    result = {"pass": "PASS", "fail": "FAIL"}.get(run.outcome, "NOT_APPLICABLE")
    yield end_at, {"testRunArtifact": {"testRunEnd": {"status": status, "result": result}}}


def _step_art(step: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"testStepArtifact": {"testStepId": step, **body}}


def _step(
    step: str, test: TestRecord, ms: list[MeasurementRecord], hardware: set[str]
) -> Iterator[tuple[datetime, dict[str, Any]]]:
    yield test.started_at, _step_art(step, {"testStepStart": {"name": test.nodeid}})
    for m in ms:
        yield m.timestamp, _step_art(step, {"measurement": _measurement(m, hardware)})
    end = test.finished_at
    message = test.message or ""
    if test.outcome == "error":
        yield end, _step_art(step, {"error": {"symptom": "test-error", "message": message}})
    elif test.outcome == "skipped":
        yield end, _step_art(step, {"log": {"severity": "INFO", "message": f"skipped: {message}"}})
    else:
        diagnosis: dict[str, Any] = {
            "verdict": f"{test.item_id or test.nodeid}-{test.outcome}",
            "type": "PASS" if test.outcome == "passed" else "FAIL",
        }
        if message:
            diagnosis["message"] = message
        if test.device in hardware:
            diagnosis["hardwareInfoId"] = test.device
        if test.item_id and test.item_id != test.device:
            diagnosis["subcomponent"] = {"name": test.item_id}
        if test.outcome == "failed":
            yield end, _step_art(step, {"log": {"severity": "ERROR", "message": message}})
        yield end, _step_art(step, {"diagnosis": diagnosis})
    yield end, _step_art(step, {"testStepEnd": {"status": _STEP_STATUS[test.outcome]}})


def ocptv_lines(report: RunReport) -> list[dict[str, Any]]:
    """The run as OCP TV output artifacts, each with its sequence number and timestamp."""
    lines = []
    for seq, (ts, artifact) in enumerate(artifacts(report)):
        lines.append({**artifact, "sequenceNumber": seq, "timestamp": _ts(ts)})
    return lines


def write_ocptv(report: RunReport, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for line in ocptv_lines(report):
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path
