"""The results writer's process: started with the run, commits what it was sent, even after the run died.

A store on a file or a server commits its batches in a child process
(rackval.results.writer_process), so that its inserts do not hold the run's
GIL. These tests pin down that (1) the process is started when the run starts,
before its first record, and is gone once the store is closed, (2) every batch
it was sent is committed, in order, even when the run is gone and no answer can
be given, and (3) an error in it reaches the run with its own type.
"""

from __future__ import annotations

import io
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rackval.results.store import ResultsStore, StoreError
from rackval.results.writer_process import read_frame, serve, write_frame
from tests.factory_helpers import writer_processes
from tests.test_durability import _measure
from tests.test_results_store import _run, _test, db_url, pg_url  # noqa: F401 (fixtures)


def _marked(monkeypatch: pytest.MonkeyPatch) -> str:
    """A mark in this process's environment, which the writer process inherits."""
    mark = f"writer-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("RACKVAL_TEST_MARK", mark)
    return mark


def test_the_process_starts_with_the_run_and_is_gone_after_close(
    db_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mark = _marked(monkeypatch)
    store = ResultsStore.open(db_url, tmp_path)
    try:
        assert writer_processes(mark) == []  # opening (reading) a store starts nothing
        run = _run()
        store.start_run(run)
        # started before any record. Looked for over a few moments: once in CI, a scan made
        # right after start_run found no process whose /proc cmdline names the writer yet
        # (the likely cause: the new program's arguments appear in /proc a moment after
        # the exec that Popen waits for)
        deadline = time.monotonic() + 10
        while not writer_processes(mark) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(writer_processes(mark)) == 1
        for i in range(5):
            _measure(store, run.run_id, i)
        store.record_test(run.run_id, _test("t::test[1]", "passed"))
        store.sync()
        assert [m.value for m in store.measurements(run.run_id)] == [2.0, 3.0, 4.0, 5.0, 6.0]
        assert [t.outcome for t in store.tests(run.run_id)] == ["passed"]
    finally:
        store.close()
    assert writer_processes(mark) == []


def test_an_error_in_the_process_names_its_own_type(tmp_path: Path) -> None:
    store = ResultsStore.open(None, tmp_path)
    try:
        run = _run()
        store.start_run(run)
        _measure(store, "no-such-run", 1)  # violates the foreign key, in the writer process
        with pytest.raises(StoreError) as err:
            store.sync()
        message = str(err.value)
        assert "could not store 1 record(s)" in message
        assert "IntegrityError: FOREIGN KEY constraint failed" in message
    finally:
        store.close()  # the failure was raised already: close does not raise it again


class GoneRun(io.RawIOBase):
    """The run's end of the answer pipe after a SIGKILL: every write fails."""

    def writable(self) -> bool:
        return True

    def write(self, _data: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def _row(run_id: str, i: int) -> tuple[str, tuple[object, ...]]:
    values = (run_id, f"t::test[{i}]", "outlet_current", float(i), "A", None, "pass", "pdu-a", f"pdu-a/{i}")
    return ("measurements", (*values, datetime.now(UTC)))


def _frames(url: str, batches: list[list[tuple[str, tuple[object, ...]]]]) -> io.BytesIO:
    stream = io.BytesIO()
    write_frame(stream, {"url": url, "wal_flushed_elsewhere": True})
    for batch in batches:
        write_frame(stream, batch)
    stream.seek(0)
    return stream


def test_every_batch_sent_before_the_run_died_is_committed(tmp_path: Path) -> None:
    db = tmp_path / "results.db"
    url = f"sqlite:///{db}"
    store = ResultsStore.open(url)
    run = _run()
    store.start_run(run)
    store.close()
    batches = [[_row(run.run_id, 3 * b + i) for i in range(3)] for b in range(4)]

    serve(_frames(url, batches), GoneRun())  # reads to the end of its input, answering no one

    other = sqlite3.connect(db)
    try:
        values = [v for (v,) in other.execute("select value from measurements order by id")]
    finally:
        other.close()
    assert values == [float(i) for i in range(12)]


def test_it_answers_each_batch_with_what_it_committed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'results.db'}"
    store = ResultsStore.open(url)
    run = _run()
    store.start_run(run)
    store.close()
    out = io.BytesIO()
    batches = [[_row(run.run_id, 0), _row(run.run_id, 1)], [_row("no-such-run", 2)], [_row(run.run_id, 3)]]

    serve(_frames(url, batches), out)

    out.seek(0)
    answers = []
    while (frame := read_frame(out)) is not None:
        answers.append(frame)
    assert answers[:2] == [("ok", 0), ("ok", 2)]  # the store opened; the first batch committed
    assert answers[2][:2] == ("error", "IntegrityError")
    assert len(answers) == 3  # after a failure it stores, and answers, nothing more


def test_a_store_it_cannot_open_is_said_once() -> None:
    out = io.BytesIO()
    serve(_frames("nosuchdialect://x", [[_row("r", 0)]]), out)
    out.seek(0)
    answer = read_frame(out)
    assert answer is not None and answer[0] == "error" and "nosuchdialect" in answer[2]
    assert read_frame(out) is None
