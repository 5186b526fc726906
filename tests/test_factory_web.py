"""The factory overview page (``rackval factory serve``) against the real PostgreSQL.

Heartbeat rows and runs are written straight into the module's central database,
so idle / running / offline are deterministic; the browser test then drives a
real simulated station (its worker on RabbitMQ) idle -> running -> idle in
headless Chromium, and cuts the database under the page. Screenshots:
``$RACKVAL_ARTIFACTS/screenshots/factory-*.png`` when set, else the test's folder.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import httpx
import pytest
from starlette.testclient import TestClient

from rackval.factory.web import Central, Overview, create_app
from tests.factory_helpers import Proxy, dispatch
from tests.factory_web_helpers import PASSWORD, add_run, beat, serve_overview, with_password
from tests.web_helpers import artifacts_dir

pytestmark = [pytest.mark.xdist_group("rabbitmq"), pytest.mark.timeout(180)]

PAGE_TIMEOUT_MS = 60_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stations_show_idle_running_and_offline(central):
    beat(central, "W-IDLE", "idle", host="host-a")
    beat(central, "W-RUN", "running", run_id="r" * 16, rack_serial="RK-W-1", item_done=7, item_total=64)
    beat(central, "W-GONE", "idle", age_s=120, host="host-c")  # its worker stopped beating
    beat(central, "W-STOP", "stopped")  # a worker that shut down cleanly
    with TestClient(create_app(central)) as client:
        r = client.get("/api/stations")
    assert r.status_code == 200
    found = {s["station_id"]: s for s in r.json()["stations"] if s["station_id"].startswith("W-")}
    assert [s for s in found] == ["W-GONE", "W-IDLE", "W-RUN", "W-STOP"]  # by station id
    assert found["W-IDLE"]["state"] == "idle" and found["W-IDLE"]["host"] == "host-a"
    run = found["W-RUN"]
    assert (run["state"], run["rack_serial"], run["item_done"], run["item_total"]) == (
        "running",
        "RK-W-1",
        7,
        64,
    )
    assert run["run_id"] == "r" * 16 and "item 7 of 64" in run["describe"]
    assert found["W-GONE"]["state"] == "offline" and found["W-GONE"]["beat_age_s"] >= 120
    assert found["W-STOP"]["state"] == "offline"
    assert found["W-IDLE"]["beat_age_s"] < 10


def test_latest_runs_across_stations_and_one_racks_history(central):
    first = add_run(central, "RK-H-A", "H-1", "pass", minutes_ago=3)
    other = add_run(central, "RK-H-B", "H-2", "fail", minutes_ago=2)
    moved = add_run(central, "RK-H-A", "H-2", "aborted", minutes_ago=1)
    live = add_run(central, "RK-H-A", "H-1", None)  # no end yet; its process (this one) is alive
    with TestClient(create_app(central)) as client:
        latest = client.get("/api/runs").json()["runs"]
        mine = [r for r in latest if r["rack_serial"].startswith("RK-H-")]
        assert [r["run_id"] for r in mine] == [live, moved, other, first]  # newest first
        assert [(r["station_id"], r["outcome"]) for r in mine] == [
            ("H-1", "running"),
            ("H-2", "aborted"),
            ("H-2", "fail"),
            ("H-1", "pass"),
        ]
        assert mine[-1]["ended_at"] is not None and mine[0]["ended_at"] is None
        history = client.get("/api/runs", params={"serial": "RK-H-A"}).json()
        assert history["serial"] == "RK-H-A"
        assert [r["run_id"] for r in history["runs"]] == [live, moved, first]  # on both stations
        one = client.get("/api/runs", params={"limit": "1"}).json()["runs"]
        assert len(one) == 1
        for run in latest:  # nothing of a stored run beyond the listed fields
            assert "command_line" not in run and "rack_plan" not in run


def test_database_unreachable_is_a_clear_503_never_a_crash_nor_the_password():
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{port}/central"
    with TestClient(create_app(url), raise_server_exceptions=True) as client:
        for path in ("/api/stations", "/api/runs", "/api/runs?serial=RK-X"):
            r = client.get(path)
            assert r.status_code == 503, path
            error = r.json()["error"]
            assert f"central database 127.0.0.1:{port}/central unreachable" in error
            assert PASSWORD not in r.text
        page = client.get("/")
    assert page.status_code == 200
    assert PASSWORD not in page.text
    initial = page.text.split('<script id="initial" type="application/json">', 1)[1].split("</script>")[0]
    snapshot = json.loads(initial)["snapshot"]
    assert snapshot["db"]["ok"] is False and f"127.0.0.1:{port}" in snapshot["db"]["error"]
    assert snapshot["stations"] == []


def test_the_view_is_kept_while_the_database_is_away(central):
    beat(central, "K-1", "running", run_id="k" * 16, rack_serial="RK-K-1", item_done=1, item_total=9)
    proxy = Proxy(("127.0.0.1", 5432))
    try:
        url = with_password(central).replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        overview = Overview(Central(url))
        good = overview.read()
        assert good["db"]["ok"] is True
        assert any(s["station_id"] == "K-1" for s in good["stations"])
        proxy.cut()
        away = overview.read()
        assert away["db"]["ok"] is False and f"127.0.0.1:{proxy.port}" in away["db"]["error"]
        assert away["stations"] == good["stations"] and away["runs"] == good["runs"]  # the last view
        assert away["db"]["since"] is not None
        assert PASSWORD not in json.dumps(away)
        proxy.restore()
        back = overview.read()
        assert back["db"]["ok"] is True and back["db"]["error"] is None
        overview.central.close()
    finally:
        proxy.close()


def test_served_page_and_event_stream_carry_no_password(central, tmp_path):
    beat(central, "E-1", "idle")
    with serve_overview(tmp_path, with_password(central), "--tick", "0.2") as served:
        assert served.url.startswith("http://127.0.0.1:")  # loopback unless told otherwise
        with httpx.Client(base_url=served.url, timeout=10) as client:
            bodies = [client.get(p).text for p in ("/", "/api/stations", "/api/runs", "/static/factory.js")]
            with client.stream("GET", "/api/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                event = None
                for line in stream.iter_lines():
                    if line.startswith("data: "):
                        event = json.loads(line[6:])
                        break
        log = served.log.read_text()
    assert event is not None and any(s["station_id"] == "E-1" for s in event["stations"])
    assert event["db"]["ok"] is True
    for text in [*bodies, json.dumps(event), log]:
        assert PASSWORD not in text
    assert "E-1" in bodies[1]


def test_serve_needs_the_central_database():
    env = {k: v for k, v in os.environ.items() if k != "RACKVAL_RESULTS_DB"}
    done = subprocess.run(
        [sys.executable, "-m", "rackval", "factory", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**env, "COLUMNS": "200"},
        check=False,
    )
    assert done.returncode == 2
    assert "central results database" in done.stderr


# -- in a real browser ----------------------------------------------------------------


def card(station_id: str, state: str = "") -> str:
    return f'.st[data-station="{station_id}"]' + (f'[data-state="{state}"]' if state else "")


def test_overview_in_chromium_follows_a_station_through_a_run(browser, stations, central, tmp_path):
    shots = artifacts_dir(tmp_path / "screenshots")
    print(f"screenshots: {shots}")
    beat(central, "T-OFFLINE-01", "idle", age_s=300, host="retired-host")
    # a run of the quick selection lasts ~2 s, one heartbeat (2 s apart) or two: a row mid-run
    # shows "item n of m" for certain, the real station shows its run going by
    beat(central, "T-BUSY-02", "running", run_id="b" * 16, rack_serial="RK-BUSY", item_done=16, item_total=64)
    st = stations.add()
    proxy = Proxy(("127.0.0.1", 5432))
    try:
        url = with_password(central).replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        with serve_overview(tmp_path, url, "--tick", "0.5") as served:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(served.url)
            page.evaluate("window.notReloaded = true")
            page.wait_for_selector(card(st.station_id, "idle"), timeout=PAGE_TIMEOUT_MS)
            offline = page.locator(card("T-OFFLINE-01"))
            assert offline.get_attribute("data-state") == "offline"
            assert "last heartbeat 5 min ago" in offline.inner_text()
            offline_cards = page.locator('.st[data-state="offline"]').count()
            assert offline_cards >= 1 and page.inner_text("#n-offline") == str(offline_cards)
            busy = page.locator(card("T-BUSY-02", "running"))
            assert busy.locator(".count").inner_text() == "item 16 of 64"
            assert busy.locator(".bar").evaluate("b => b.style.width") == "25%"
            assert "RK-BUSY" in busy.inner_text()
            page.screenshot(path=shots / "factory-idle.png", full_page=True)

            run_id = dispatch(st)
            running = card(st.station_id, "running")
            page.wait_for_selector(running, timeout=PAGE_TIMEOUT_MS)
            page.screenshot(path=shots / "factory-running.png", full_page=True)
            shown = page.locator(running).inner_text()
            assert st.serial in shown and run_id in shown
            assert "item " in shown or "starting" in shown

            row = page.locator(f'#runs tr[data-run="{run_id}"]')
            page.wait_for_selector(f'#runs tr[data-run="{run_id}"] td.outcome.pass', timeout=PAGE_TIMEOUT_MS)
            page.wait_for_selector(card(st.station_id, "idle"), timeout=PAGE_TIMEOUT_MS)
            assert row.locator("td.station").inner_text() == st.station_id
            assert row.locator("td.outcome").inner_text() == "PASS"
            assert page.evaluate("window.notReloaded") is True  # live updates, not reloads
            page.screenshot(path=shots / "factory-latest-runs.png", full_page=True)

            row.locator("td.rack a").click()  # that rack's history, across stations
            page.wait_for_selector(f'#history tr[data-run="{run_id}"]', timeout=PAGE_TIMEOUT_MS)
            assert page.inner_text("#history-serial") == st.serial
            history = page.locator(f'#history tr[data-run="{run_id}"]')
            assert history.locator("td.station").inner_text() == st.station_id
            assert history.locator("td.outcome").inner_text() == "PASS"
            page.screenshot(path=shots / "factory-rack-history.png", full_page=True)

            proxy.cut()  # the central database goes away under the page
            page.wait_for_selector("#db-banner:not([hidden])", timeout=PAGE_TIMEOUT_MS)
            banner = page.inner_text("#db-banner")
            assert f"127.0.0.1:{proxy.port}" in banner and "unreachable" in banner
            assert page.locator(card(st.station_id)).count() == 1  # the last view is kept
            assert page.locator(f'#history tr[data-run="{run_id}"]').count() == 1
            page.screenshot(path=shots / "factory-db-down.png", full_page=True)
            assert PASSWORD not in page.content()
            proxy.restore()
            page.wait_for_selector("#db-banner", state="hidden", timeout=PAGE_TIMEOUT_MS)
            context.close()
        assert PASSWORD not in served.log.read_text()
    finally:
        proxy.close()
    for name in ("idle", "running", "latest-runs", "rack-history", "db-down"):
        assert (shots / f"factory-{name}.png").stat().st_size > 0
