"""The page server's event folding: partial lines, failures with their measurements, slow pages."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from rackval.web.events import QUEUE_SIZE, EventTail, Hub, RunView
from rackval.web.runs import RackIndex, RunError, RunManager, RunSettings


def test_tail_reads_complete_lines_only(tmp_path):
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.read() == []  # no file yet
    with path.open("w") as f:
        f.write('{"type": "start", "nodeid": "a"}\n{"type": "te')
    assert tail.read() == [{"type": "start", "nodeid": "a"}]
    with path.open("a") as f:
        f.write('st", "nodeid": "a", "outcome": "passed"}\n')
    assert tail.read() == [{"type": "test", "nodeid": "a", "outcome": "passed"}]


def test_view_names_the_failing_item_with_its_measurement():
    view = RunView(1, "RK-1", "alice")
    view.apply({"type": "collected", "total": 2, "suites": {"power": 2}, "t": 1.0})
    view.apply({"type": "start", "nodeid": "s/t.py::test_x[pdu-a/3]", "t": 1.0})
    assert view.progress()["running"] == ["s/t.py::test_x[pdu-a/3]"]
    view.apply(
        {"type": "measurement", "nodeid": "s/t.py::test_x[pdu-a/3]", "text": "pdu-a/3: i = 0 A", "t": 1.1}
    )
    failure = view.apply(
        {
            "type": "test",
            "nodeid": "s/t.py::test_x[pdu-a/3]",
            "suite": "power",
            "outcome": "failed",
            "item": "pdu-a/3",
            "device": "pdu-a",
            "message": "Failed: pdu-a outlet 3: i = 0 A, expected 1-3 A",
            "t": 2.0,
        }
    )
    assert failure is not None and failure["item"] == "pdu-a/3"
    assert failure["measurements"] == ["pdu-a/3: i = 0 A"]
    progress = view.progress()
    assert progress["done"] == 1 and progress["counts"]["failed"] == 1 and progress["running"] == []
    assert progress["suites"]["power"] == {"total": 2, "done": 1, "failed": 1}
    assert progress["eta_s"] == 1.0  # one item in 1 s, one left


def test_a_page_that_falls_behind_gets_a_snapshot(tmp_path):
    settings = RunSettings(station_file=tmp_path / "s.yaml", results_dir=tmp_path, racks=RackIndex(None))
    hub = Hub(RunManager(settings))
    hub.view = RunView(1, "RK-1", "alice")

    async def scenario() -> list[tuple[str, dict]]:
        stream = hub.stream()
        first = await anext(stream)
        for i in range(QUEUE_SIZE + 10):  # the page reads none of these in time
            hub.view.events = i
            hub._publish("update", hub.view.progress())
        second = await anext(stream)
        await stream.aclose()
        return [_parse(first), _parse(second)]

    (kind1, _), (kind2, data2) = asyncio.run(scenario())
    assert kind1 == "snapshot" and kind2 == "snapshot"  # not the oldest stale update
    assert data2["events"] == QUEUE_SIZE + 9 and "failures" in data2


def _parse(block: str) -> tuple[str, dict]:
    lines = block.strip().split("\n")
    assert lines[0].startswith("event: ") and lines[1].startswith("data: ") and block.endswith("\n\n")
    return lines[0][7:], json.loads(lines[1][6:])


def test_racks_are_found_by_serial(tmp_path):
    (tmp_path / "a.yaml").write_text("rack: {serial: RK-A, model: M1}\ndevices: {}\n")
    (tmp_path / "b.yaml").write_text("rack: {serial: RK-B, model: M2}\n")
    (tmp_path / "c.yaml").write_text("rack: {serial: RK-B, model: M3}\n")
    (tmp_path / "broken.yaml").write_text("rack: [\n")
    index = RackIndex(Path(tmp_path))
    assert index.find("RK-A").path.name == "a.yaml"
    for serial, status in (("RK-B", 409), ("RK-NONE", 404)):
        with pytest.raises(RunError) as info:
            index.find(serial)
        assert info.value.status == status
