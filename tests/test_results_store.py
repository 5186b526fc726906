"""The results store against SQLite and the PostgreSQL on 127.0.0.1 (required in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from rackval.limits import Limit
from rackval.measurement import judge
from rackval.model import load_rack
from rackval.results import schema
from rackval.results.store import LIMIT_DUMPS_KEPT, ResultsStore, StoreError, TestRecord, status_outcome
from rackval.run import RunInfo

REPO = Path(__file__).resolve().parents[1]
DEMO_RACK = REPO / "fixtures" / "racks" / "demo.yaml"
PG_SERVER = os.environ.get("RACKVAL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _need(what: str, why: str) -> None:
    if os.environ.get("RACKVAL_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required (RACKVAL_REQUIRE_SERVICES=1): {why}")
    pytest.skip(f"{what} not available: {why}")


@contextmanager
def pg_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema of its own, dropped afterwards."""
    name = f"rackval_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    except Exception as exc:
        admin.dispose()
        _need("PostgreSQL on 127.0.0.1:5432", str(exc).splitlines()[0])
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[ResultsStore]:
    st = ResultsStore.open(db_url, tmp_path)
    yield st
    st.close()


def _run(serial: str = "RK-1", minutes_ago: float = 0, **kw: object) -> RunInfo:
    run = RunInfo(
        rack_serial=serial,
        rack_model="M-1",
        plan_version="1.0",
        limits_file="limits.yaml",
        limits_version="7",
        station_id="st-3",
        operator_id="op-9",
        suites=["suites/power"],
        **kw,
    )
    run.started_at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return run


def _test(nodeid: str, outcome: str, message: str | None = None, item: str = "pdu-a/1") -> TestRecord:
    now = datetime.now(UTC)
    return TestRecord(
        nodeid=nodeid,
        suite=nodeid.split("::")[0],
        outcome=outcome,
        duration_s=0.25,
        message=message,
        started_at=now - timedelta(seconds=0.25),
        finished_at=now,
        item_kind="outlet",
        item_id=item,
        device=item.split("/")[0],
    )


def test_a_run_round_trips_with_types_and_times(store: ResultsStore) -> None:
    rack = load_rack(DEMO_RACK)
    run = _run(scenario="dead-outlet")
    store.start_run(run, rack=rack, command_line="rackval run demo")
    limit = Limit(low=1.5, high=3.5, units="A")
    m1 = judge("outlet_current", 0.25, limit=limit, device="pdu-a", item="pdu-a/7")
    m2 = judge("outlet_state", "on", limit=Limit(expected="on"), device="pdu-a", item="pdu-a/7")
    m3 = judge("lldp_seen", True, limit=None, device="leaf-1", item="leaf-1/Ethernet3")
    for m in (m1, m2, m3):
        store.record_measurement(run.run_id, "t.py::test_x[pdu-a/7]", m)
    store.record_test(run.run_id, _test("t.py::test_x[pdu-a/7]", "failed", "0.25 A", "pdu-a/7"))

    # readable before the run ends: nothing is kept back for the end
    assert store.get_run(run.run_id).outcome == "running"
    assert len(store.measurements(run.run_id)) == 3
    store.finish_run(run.run_id, "fail", exit_status=1)

    report = store.report(run.run_id[:6])  # a unique prefix names the run
    rec = report.run
    assert (rec.run_id, rec.outcome, rec.stored_outcome) == (run.run_id, "fail", "fail")
    assert (rec.rack_serial, rec.station_id, rec.operator_id) == ("RK-1", "st-3", "op-9")
    assert (rec.limits_version, rec.scenario, rec.command_line) == ("7", "dead-outlet", "rackval run demo")
    assert rec.rack_file == str(DEMO_RACK)
    assert rec.rack_plan["pdus"]["pdu-a"]["rated_current_a"] == 16
    assert {"a": "leaf-1/Ethernet3", "b": "srv-03/eth0", "speed": "100G"} in rec.rack_plan["cabling"]
    assert rec.started_at == run.started_at and rec.started_at.tzinfo is not None
    assert rec.ended_at is not None and rec.ended_at >= rec.started_at
    got = [(m.name, m.value, m.outcome, m.limit) for m in report.measurements]
    assert got == [
        ("outlet_current", 0.25, "fail", {"low": 1.5, "high": 3.5, "units": "A"}),
        ("outlet_state", "on", "pass", {"expected": "on"}),
        ("lldp_seen", True, "pass", None),
    ]
    assert report.measurements[0].timestamp == m1.timestamp
    assert [(t.outcome, t.item_id, t.device) for t in report.tests] == [("failed", "pdu-a/7", "pdu-a")]
    assert [t.nodeid for t in report.failures] == ["t.py::test_x[pdu-a/7]"]


def test_limits_made_per_measurement_are_not_all_kept_and_each_is_stored(store: ResultsStore) -> None:
    run = _run()
    store.start_run(run)
    shared = Limit(low=0, high=10, units="A")
    count = LIMIT_DUMPS_KEPT * 3
    for i in range(count):
        fresh = Limit(expected=f"state-{i}")  # as a test writing Limit(...) inline makes them
        state = judge("state", f"state-{i}", limit=fresh, device="pdu-a", item="pdu-a/1")
        current = judge("current", 1.0, limit=shared, device="pdu-a", item="pdu-a/1")
        for m in (state, current):
            store.record_measurement(run.run_id, f"t.py::test_n[{i}]", m)
    assert len(store._limit_specs) <= LIMIT_DUMPS_KEPT
    stored = store.measurements(run.run_id)
    states = [m.limit for m in stored if m.name == "state"]
    assert states == [{"expected": f"state-{i}"} for i in range(count)]
    currents = [m.limit for m in stored if m.name == "current"]
    assert currents == [{"low": 0, "high": 10, "units": "A"}] * count


def test_list_filters_and_history_is_newest_first(store: ResultsStore) -> None:
    ids = {}
    for name, serial, ago, outcome in [
        ("old", "RK-1", 30, "pass"),
        ("mid", "RK-1", 20, "fail"),
        ("other", "RK-2", 10, "fail"),
        ("new", "RK-1", 5, None),  # still running (this process)
    ]:
        run = _run(serial, ago)
        ids[name] = run.run_id
        store.start_run(run)
        if outcome:
            store.finish_run(run.run_id, outcome)
    assert [r.run_id for r in store.history("RK-1")] == [ids["new"], ids["mid"], ids["old"]]
    assert [r.run_id for r in store.list_runs(outcome="fail")] == [ids["other"], ids["mid"]]
    assert [r.run_id for r in store.list_runs(serial="RK-1", outcome="fail")] == [ids["mid"]]
    assert [r.run_id for r in store.list_runs(outcome="running")] == [ids["new"]]
    assert [r.run_id for r in store.list_runs(limit=2)] == [ids["new"], ids["other"]]
    with pytest.raises(StoreError, match="outcome must be one of"):
        store.list_runs(outcome="great")
    with pytest.raises(StoreError, match="no run 'nope'"):
        store.get_run("nope")


def test_a_run_whose_process_is_gone_reads_aborted(store: ResultsStore) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = _run()
    store.start_run(dead, pid=child.pid)
    store.record_measurement(dead.run_id, "t::a", judge("v", 1.0, limit=None, device="pdu-a", item="pdu-a/1"))
    alive = _run()
    store.start_run(alive)  # this process
    assert store.get_run(dead.run_id).outcome == "aborted"
    assert store.get_run(dead.run_id).stored_outcome is None
    assert store.get_run(alive.run_id).outcome == "running"
    assert [r.run_id for r in store.list_runs(outcome="aborted")] == [dead.run_id]
    assert len(store.measurements(dead.run_id)) == 1


def test_retest_links_runs_and_rack_status_is_latest_per_test(store: ResultsStore) -> None:
    first = _run(minutes_ago=10)
    store.start_run(first)
    store.record_test(first.run_id, _test("t::a[pdu-a/1]", "passed"))
    store.record_test(first.run_id, _test("t::a[pdu-a/2]", "failed", "0 A", "pdu-a/2"))
    store.record_test(first.run_id, _test("t::b[pdu-a/3]", "error", "timeout", "pdu-a/3"))
    store.record_test(first.run_id, _test("t::c[pdu-a/4]", "skipped", "manual", "pdu-a/4"))
    store.finish_run(first.run_id, "fail")
    assert store.failed_nodeids(first.run_id) == {"t::a[pdu-a/2]", "t::b[pdu-a/3]"}
    assert status_outcome(store.rack_status("RK-1").values()) == "fail"

    retest = _run(minutes_ago=5, retest_of=first.run_id)
    store.start_run(retest)
    store.record_test(retest.run_id, _test("t::a[pdu-a/2]", "passed", item="pdu-a/2"))
    store.record_test(retest.run_id, _test("t::b[pdu-a/3]", "passed", item="pdu-a/3"))
    store.finish_run(retest.run_id, "pass")

    assert [r.run_id for r in store.retests_of(first.run_id)] == [retest.run_id]
    assert store.get_run(retest.run_id).retest_of == first.run_id
    status = store.rack_status("RK-1")
    assert {k: (v.outcome, v.run_id) for k, v in status.items()} == {
        "t::a[pdu-a/1]": ("passed", first.run_id),
        "t::a[pdu-a/2]": ("passed", retest.run_id),
        "t::b[pdu-a/3]": ("passed", retest.run_id),
        "t::c[pdu-a/4]": ("skipped", first.run_id),
    }
    assert status_outcome(status.values()) == "pass"
    assert store.rack_status("RK-unknown") == {}


def test_schema_is_versioned_and_migrates(db_url: str, tmp_path: Path) -> None:
    st = ResultsStore.open(db_url, tmp_path)
    with st.engine.connect() as conn:
        assert schema.current_version(conn) == schema.SCHEMA_VERSION
    seen = []

    def to_next(conn: object) -> None:
        seen.append(conn)

    version = schema.ensure_schema(
        st.engine, target=schema.SCHEMA_VERSION + 1, migrations={schema.SCHEMA_VERSION: to_next}
    )
    assert version == schema.SCHEMA_VERSION + 1 and len(seen) == 1
    st.close()
    # a store written by a newer rackval is refused with a clear message
    with pytest.raises(StoreError, match=r"newer than this rackval"):
        ResultsStore.open(db_url, tmp_path)


def test_missing_migration_step_is_an_error(tmp_path: Path) -> None:
    st = ResultsStore.open(None, tmp_path)
    with pytest.raises(schema.SchemaError, match="no migration"):
        schema.ensure_schema(st.engine, target=schema.SCHEMA_VERSION + 1, migrations={})
    st.close()


def test_default_store_is_sqlite_wal_under_results_dir(tmp_path: Path) -> None:
    st = ResultsStore.open(None, tmp_path / "res")
    assert (tmp_path / "res" / "results.db").exists()
    with st.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(select(schema.schema_version.c.version)).scalar() == 1
    st.close()


def test_bad_urls_give_clear_errors_without_the_password(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        ResultsStore.open("no such thing", tmp_path)
    with pytest.raises(StoreError) as info:
        ResultsStore.open("postgresql+psycopg://bob:s3cret-pw@127.0.0.1:1/x", tmp_path)
    assert "s3cret-pw" not in str(info.value)
    assert "127.0.0.1:1" in str(info.value)


def _open_new_store_from_four_threads(url: str, results_dir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def open_and_list(_: int) -> int:
        st = ResultsStore.open(url, results_dir)
        try:
            return len(st.list_runs())
        finally:
            st.close()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_and_list, range(4))) == [0, 0, 0, 0]
    st = ResultsStore.open(url, results_dir)
    with st.engine.connect() as conn:
        assert conn.execute(select(schema.schema_version.c.version)).scalars().all() == [1]
    st.close()


def test_concurrent_first_use_creates_the_schema_once(db_url: str, tmp_path: Path) -> None:
    """A run and a reader (``rackval results list``) may open a new store at the same moment."""
    _open_new_store_from_four_threads(db_url, tmp_path)


def test_concurrent_first_use_of_new_sqlite_files(tmp_path: Path) -> None:
    """Switching a new SQLite file to WAL raced in a few percent of new files before
    it was retried (this test failed every time then): so try many new files."""
    for i in range(60):
        _open_new_store_from_four_threads(f"sqlite:///{tmp_path}/{i}/results.db", tmp_path / str(i))


def test_a_batch_larger_than_one_statement_is_stored_whole_and_in_order(tmp_path: Path) -> None:
    """Rows beyond one INSERT's share (the connection's parameter limit) go in further statements."""
    import sqlite3

    from rackval.results import database as store_module

    conn = sqlite3.connect(":memory:")
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)  # SQLite's limit before 3.32
    assert store_module.sqlite_rows_per_statement(conn, 10) == 99
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 5)
    assert store_module.sqlite_rows_per_statement(conn, 10) == 1  # never none
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 250000)
    assert store_module.sqlite_rows_per_statement(conn, 10) == store_module._SQLITE_MAX_ROWS

    st = ResultsStore.open(f"sqlite:///{tmp_path / 'results.db'}", tmp_path)
    try:
        run = _run()
        st.start_run(run)
        count = 2 * store_module._SQLITE_MAX_ROWS + 7  # three statements in one batch
        limit = Limit(low=0, high=count)
        for i in range(count):
            m = judge("n", float(i), limit=limit, device="pdu-a", item=f"pdu-a/{i}")
            st.record_measurement(run.run_id, f"t.py::test_n[{i}]", m)
        st.sync()
        # queued in a few ms, well within one write interval: at least one batch held
        # more rows than one statement carries
        assert st._writer is not None and st._writer.commits <= 2
        stored = st.measurements(run.run_id)
    finally:
        st.close()
    assert [m.value for m in stored] == [float(i) for i in range(count)]
    assert [m.item for m in stored] == [f"pdu-a/{i}" for i in range(count)]
    assert {m.outcome for m in stored} == {"pass"}
