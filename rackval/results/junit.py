"""JUnit XML of a stored run, for CI: one testsuite per suite module, measurements as properties.

The layout follows what pytest's own ``--junitxml`` writes (``testsuites`` >
``testsuite`` > ``testcase`` with ``properties``), which CI systems and
junitparser read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from rackval.results.store import MeasurementRecord, RunReport, TestRecord, dumps_limit


def _classname(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    module = path[:-3] if path.endswith(".py") else path
    parts = nodeid.split("::")[1:-1]  # test classes, if any
    return ".".join([module.replace("/", "."), *parts])


def _name(nodeid: str) -> str:
    return nodeid.split("::")[-1]


def measurement_value(m: MeasurementRecord) -> str:
    """``2.4 A (pass; limit 1.5-3.5 A)``: what a CI page shows for one measurement."""
    value = f"{m.value} {m.units}".strip() if not isinstance(m.value, str) else m.value
    limit = dumps_limit(m.limit)
    return f"{value} ({m.outcome}{f'; limit {limit}' if limit else ''})"


def _testcase(parent: ET.Element, test: TestRecord, ms: list[MeasurementRecord]) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=_classname(test.nodeid),
        name=_name(test.nodeid),
        time=f"{test.duration_s:.3f}",
    )
    props = [("rack_item", test.item_id), ("device", test.device)]
    props = [(k, v) for k, v in props if v]
    props += [(f"measurement:{m.name}:{m.item}", measurement_value(m)) for m in ms]
    if props:
        el = ET.SubElement(case, "properties")
        for name, value in props:
            ET.SubElement(el, "property", name=name, value=value)
    message = test.message or ""
    if test.outcome == "failed":
        ET.SubElement(case, "failure", message=message).text = message
    elif test.outcome == "error":
        ET.SubElement(case, "error", message=message).text = message
    elif test.outcome == "skipped":
        ET.SubElement(case, "skipped", message=message)


def junit_tree(report: RunReport) -> ET.ElementTree:
    run = report.run
    root = ET.Element("testsuites", name=f"rackval {run.rack_serial} {run.run_id}")
    total = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    time_total = 0.0
    for suite, tests in sorted(report.suites().items()):
        counts = {
            "tests": len(tests),
            "failures": sum(t.outcome == "failed" for t in tests),
            "errors": sum(t.outcome == "error" for t in tests),
            "skipped": sum(t.outcome == "skipped" for t in tests),
        }
        duration = sum(t.duration_s for t in tests)
        el = ET.SubElement(
            root,
            "testsuite",
            name=suite,
            timestamp=min(t.started_at for t in tests).isoformat(),
            hostname=run.host or "",
            time=f"{duration:.3f}",
            **{k: str(v) for k, v in counts.items()},
        )
        props = ET.SubElement(el, "properties")
        for name, value in _run_properties(report):
            ET.SubElement(props, "property", name=name, value=value)
        for test in tests:
            _testcase(el, test, report.by_node.get(test.nodeid, []))
        for k, v in counts.items():
            total[k] += v
        time_total += duration
    for k, v in total.items():
        root.set(k, str(v))
    root.set("time", f"{time_total:.3f}")
    return ET.ElementTree(root)


def _run_properties(report: RunReport) -> list[tuple[str, str]]:
    run = report.run
    pairs = [
        ("run_id", run.run_id),
        ("run_outcome", run.outcome),
        ("rack_serial", run.rack_serial),
        ("rack_model", run.rack_model),
        ("plan_version", run.plan_version),
        ("station_id", run.station_id),
        ("operator_id", run.operator_id),
        ("suite_version", run.suite_version),
        ("limits_file", run.limits_file),
        ("limits_version", run.limits_version),
        ("rackval_version", run.rackval_version),
        ("scenario", run.scenario or ""),
        ("retest_of", run.retest_of or ""),
        ("started_at", run.started_at.isoformat()),
        ("ended_at", run.ended_at.isoformat() if run.ended_at else ""),
    ]
    return [(k, v) for k, v in pairs if v]


def write_junit(report: RunReport, path: Path) -> Path:
    tree = junit_tree(report)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
