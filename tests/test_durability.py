"""Group commit: records are committed when written, flushed to disk in groups, and shown only after.

What a power cut can lose is what no fsync has covered yet; these tests pin
down that (1) a record is committed (visible to another connection, so a
killed run keeps it) when ``record_*`` returns, (2) ``sync()`` returns only
after an fsync of the WAL file that came after the last record, (3) one fsync
covers every commit queued behind it, (4) the syncer flushes on its own, and
(5) the display calls the sync hook before it shows an outcome.
"""

from __future__ import annotations

import io
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rackval.limits import Limit
from rackval.measurement import judge
from rackval.progress import Progress, TestInfo
from rackval.results import walsync
from rackval.results.store import ResultsStore
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


def test_a_record_is_committed_when_record_returns(sqlite_store: ResultsStore, tmp_path: Path) -> None:
    run = _run()
    sqlite_store.start_run(run)
    _measure(sqlite_store, run.run_id, 1)
    sqlite_store.record_test(run.run_id, _test("t::test[1]", "passed"))
    # another process's view: a fresh connection, no sync() asked for
    other = sqlite3.connect(tmp_path / "results.db")
    try:
        assert other.execute("select count(*) from measurements").fetchone() == (1,)
        assert other.execute("select outcome from tests").fetchall() == [("passed",)]
    finally:
        other.close()


def test_sync_flushes_the_wal_after_the_last_record(
    sqlite_store: ResultsStore, tmp_path: Path, spy: FsyncSpy
) -> None:
    run = _run()
    sqlite_store.start_run(run)
    for i in range(20):
        _measure(sqlite_store, run.run_id, i)
    wal = tmp_path / "results.db-wal"
    assert wal.exists()
    sqlite_store.sync()
    ws = sqlite_store._walsync
    # synced counts only commits announced before a flush began: all 20 are covered
    assert ws is not None and ws.synced == 20
    assert os.stat(wal).st_ino in spy.inodes  # and what was flushed is the WAL file


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
    assert ws.synced == 1
    assert store._walsync is None


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
