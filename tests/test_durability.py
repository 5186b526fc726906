"""Group commit: records are queued, committed in batches, flushed in groups, and shown only after.

What a SIGKILL can lose is what is queued and not committed; what a power cut
can lose is what no fsync has covered yet. The run shows nothing before
``sync()``, which covers both. These tests pin down that (1) a record is
committed (visible to another connection, so a killed run keeps it) when
``sync()`` returns, and within moments without it, (2) ``sync()`` returns only
after an fsync of the WAL file that came after the last commit, (3) one commit
and one fsync each cover everything queued behind them, (4) the writer and the
syncer work unasked, (5) a writer's failure is raised, never swallowed, and
(6) the display calls the sync hook before it shows an outcome.
"""

from __future__ import annotations

import io
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rackval.limits import Limit
from rackval.measurement import judge
from rackval.progress import Progress, TestInfo
from rackval.results import walsync
from rackval.results.store import ResultsStore, StoreError
from rackval.results.writer import Row, Writer, WriterError
from tests.test_results_store import _run, _test, db_url, pg_url  # noqa: F401 (fixtures)


class FsyncSpy:
    """Wraps os.fsync: remembers the inode of every file flushed, in order."""

    def __init__(self) -> None:
        self.inodes: list[int] = []
        self._real = os.fsync

    def __call__(self, fd: int) -> None:
        self.inodes.append(os.fstat(fd).st_ino)
        self._real(fd)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> FsyncSpy:
    s = FsyncSpy()
    monkeypatch.setattr(walsync.os, "fsync", s)
    return s


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[ResultsStore]:
    st = ResultsStore.open(None, tmp_path)
    yield st
    st.close()


def _measure(store: ResultsStore, run_id: str, i: int) -> None:
    m = judge("outlet_current", 2.0 + i, limit=Limit(low=0, high=100), device="pdu-a", item=f"pdu-a/{i}")
    store.record_measurement(run_id, f"t::test[{i}]", m)


def test_a_record_is_committed_when_sync_returns(sqlite_store: ResultsStore, tmp_path: Path) -> None:
    run = _run()
    sqlite_store.start_run(run)
    _measure(sqlite_store, run.run_id, 1)
    sqlite_store.record_test(run.run_id, _test("t::test[1]", "passed"))
    sqlite_store.sync()
    # another process's view: a fresh connection
    other = sqlite3.connect(tmp_path / "results.db")
    try:
        assert other.execute("select count(*) from measurements").fetchone() == (1,)
        assert other.execute("select outcome from tests").fetchall() == [("passed",)]
    finally:
        other.close()


def test_the_writer_commits_without_being_asked(sqlite_store: ResultsStore, tmp_path: Path) -> None:
    """A reader during the run (``rackval results show``) sees records without anyone syncing."""
    run = _run()
    sqlite_store.start_run(run)
    _measure(sqlite_store, run.run_id, 1)
    other = sqlite3.connect(tmp_path / "results.db")
    try:
        deadline = time.monotonic() + 30  # generous: this checks that it happens, not how fast
        while other.execute("select count(*) from measurements").fetchone() != (1,):
            assert time.monotonic() < deadline, "the writer never committed the queued record"
            time.sleep(0.01)
    finally:
        other.close()


def test_the_store_reads_its_own_queued_records(sqlite_store: ResultsStore) -> None:
    run = _run()
    sqlite_store.start_run(run)
    for i in range(5):
        _measure(sqlite_store, run.run_id, i)
    # no sync: the store's own reads wait for the writer first
    assert [m.item for m in sqlite_store.measurements(run.run_id)] == [f"pdu-a/{i}" for i in range(5)]


def test_sync_flushes_the_wal_after_the_last_record(
    sqlite_store: ResultsStore, tmp_path: Path, spy: FsyncSpy
) -> None:
    run = _run()
    sqlite_store.start_run(run)
    for i in range(20):
        _measure(sqlite_store, run.run_id, i)
    sqlite_store.sync()
    writer, ws = sqlite_store._writer, sqlite_store._walsync
    assert writer is not None and writer.committed == 20  # every record committed...
    assert 1 <= writer.commits <= 20  # ...in batches
    wal = tmp_path / "results.db-wal"
    assert wal.exists()
    # synced counts only commits announced before a flush began: every commit is covered
    assert ws is not None and ws.synced == writer.commits
    assert os.stat(wal).st_ino in spy.inodes  # and what was flushed is the WAL file


class Batches:
    """A writer's commit function that remembers its batches (and can be told to fail)."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[Row]] = []
        self.fail = fail

    def __call__(self, rows: list[Row]) -> None:
        if self.fail:
            raise OSError(28, "No space left on device")
        self.batches.append(rows)


def test_one_commit_covers_every_record_queued_behind_it() -> None:
    batches = Batches()
    writer = Writer(batches, "test-store", interval_s=3600)  # only sync() cuts the wait short
    try:
        for i in range(50):
            writer.put("measurements", {"i": i})
        writer.sync()
        assert writer.committed == 50
        assert [[p["i"] for _t, p in b] for b in batches.batches] == [list(range(50))]  # one, in order
    finally:
        writer.close()


def test_a_failed_write_is_raised_by_the_next_call_and_counts_what_was_lost() -> None:
    batches = Batches(fail=True)
    writer = Writer(batches, "sqlite:///x/results.db", interval_s=3600)
    for i in range(3):
        writer.put("tests", {"i": i})
    with pytest.raises(WriterError) as err:
        writer.sync()
    message = str(err.value)
    assert "sqlite:///x/results.db" in message and "could not store 3 record(s)" in message
    assert "No space left on device" in message
    assert isinstance(err.value, StoreError)
    with pytest.raises(WriterError):  # nothing more is accepted, loudly
        writer.put("tests", {"i": 3})
    assert writer.committed == 0
    writer.close()  # the failure was already raised: close does not raise it again


def test_close_raises_a_failure_no_one_was_told_of() -> None:
    writer = Writer(Batches(fail=True), "the-store", interval_s=0.001)
    writer.put("tests", {"i": 0})
    with pytest.raises(WriterError, match="the-store: could not store 1 record"):
        writer.close()


def test_close_gives_up_on_a_database_that_stopped_answering_and_says_what_may_be_lost() -> None:
    answer = threading.Event()
    taken: list[int] = []

    def stuck(rows: list[Row]) -> None:
        taken.append(len(rows))
        answer.wait(30)  # a database that does not answer (until the test lets it go)

    writer = Writer(stuck, "the-store", interval_s=0.001, close_timeout_s=0.3)
    for i in range(3):
        writer.put("tests", {"i": i})
    deadline = time.monotonic() + 10
    while not taken and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.put("tests", {"i": 3})  # queued behind the batch the database holds
    try:
        with pytest.raises(WriterError) as err:
            writer.close()
        message = str(err.value)
        assert "the-store: no answer from the database within 0.3 s while closing" in message
        assert "4 record(s) may not be stored" in message
        assert writer.committed == 0
    finally:
        answer.set()


def test_a_store_whose_writes_fail_says_so_and_names_itself(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    """An integrity error (a run that does not exist) in the writer thread reaches the run."""
    store = ResultsStore.open(db_url, tmp_path)
    try:
        run = _run()
        store.start_run(run)
        _measure(store, run.run_id, 1)
        _measure(store, "no-such-run", 2)  # violates the foreign key, in the writer thread
        with pytest.raises(StoreError) as err:
            store.sync()
        assert "results store " in str(err.value) and "could not store" in str(err.value)
        assert ("sqlite" in str(err.value)) == db_url.startswith("sqlite")
        with pytest.raises(StoreError):
            _measure(store, run.run_id, 3)
        with pytest.raises(StoreError):  # reading after the failure does not pretend all is stored
            store.measurements(run.run_id)
    finally:
        store.close()


def test_one_fsync_covers_every_commit_queued_behind_it(tmp_path: Path, spy: FsyncSpy) -> None:
    db = tmp_path / "x.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("create table t (i integer)")
    ws = walsync.WalSync(db, interval_s=3600)  # no background flush: only sync() flushes
    try:
        for i in range(200):
            conn.execute("insert into t values (?)", (i,))
            ws.written()
        assert ws.fsyncs == 0 and ws.synced == 0  # written, not yet flushed
        ws.sync()
        assert ws.synced == 200
        assert ws.fsyncs == 1  # one flush for all 200 commits
        assert os.stat(f"{db}-wal").st_ino in spy.inodes
    finally:
        ws.close()
        conn.close()


def test_the_syncer_flushes_without_being_asked(sqlite_store: ResultsStore) -> None:
    run = _run()
    sqlite_store.start_run(run)
    _measure(sqlite_store, run.run_id, 1)
    ws = sqlite_store._walsync
    assert ws is not None
    deadline = time.monotonic() + 30  # generous: this checks that it happens, not how fast
    while ws.synced < 1:
        assert time.monotonic() < deadline, "the background syncer never flushed the WAL"
        time.sleep(0.01)
    assert ws.fsyncs >= 1


def test_close_flushes_what_is_left(tmp_path: Path, spy: FsyncSpy) -> None:
    store = ResultsStore.open(None, tmp_path)
    run = _run()
    store.start_run(run)
    _measure(store, run.run_id, 1)
    ws = store._walsync
    assert ws is not None
    store.close()
    assert ws.synced == 1  # the record's one commit, flushed
    assert store._walsync is None and store._writer is None


def test_sync_on_postgresql_is_a_flushed_commit(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    """On both backends sync() works; PostgreSQL needs no syncer (its commits are flushed)."""
    store = ResultsStore.open(db_url, tmp_path)
    try:
        run = _run()
        store.start_run(run)
        _measure(store, run.run_id, 3)
        store.sync()
        assert (store._walsync is None) == db_url.startswith("postgresql")
        assert [m.item for m in store.measurements(run.run_id)] == ["pdu-a/3"]
    finally:
        store.close()


def test_progress_shows_an_outcome_only_after_the_sync_hook() -> None:
    out = io.StringIO()
    progress = Progress(out, mode="plain")
    seen_at_sync: list[str] = []
    progress._sync = lambda: seen_at_sync.append(out.getvalue())
    progress.total = 2
    progress.tests = {"s::t[1]": TestInfo("s::t[1]", "power", "t[1]", ["pdu-a"])}
    progress._phase_outcome["s::t[1]"] = ("failed", "pdu-a/1: 0.0 A, expected 0.5-10 A", "call")
    progress.pytest_runtest_logfinish("s::t[1]", None)
    assert "FAIL" not in out.getvalue()  # queued, not shown: the screen updates on the tick
    progress.flush()
    assert len(seen_at_sync) == 1 and "FAIL" not in seen_at_sync[0]  # synced first...
    assert "FAIL [1/2] power t[1]: pdu-a/1: 0.0 A" in out.getvalue()  # ...then shown
    assert progress.shown.failed == 1
    progress.flush()  # nothing new: no second sync
    assert len(seen_at_sync) == 1
