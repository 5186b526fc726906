"""The station web page's HTTP API: station file, operators, 403s, SSE, runs as real processes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from rackval.errors import ConfigError
from rackval.prompts import channel_ask
from rackval.station import load_station, load_station_text
from rackval.web.app import build_context, create_app
from rackval.web.auth import MAX_FAILURES, Auth, hash_code
from tests.conftest import ROOT
from tests.web_helpers import BADGE, DEMO_SERIAL, PIN, demo_secrets, make_station, serve

pytestmark = pytest.mark.timeout(120)

HEADERS = {"X-Rackval": "1"}


# -- the station file ----------------------------------------------------------------


def test_station_file_operators_are_hashes_with_located_errors():
    base = "station: {id: S1}\ninstruments: {}\n"
    with pytest.raises(ConfigError) as info:
        load_station_text(base + "operators:\n  - {name: bob, pin: '1234'}\n")
    assert "station.yaml:4: operators.0.pin" in str(info.value)  # a plain PIN is refused
    with pytest.raises(ConfigError) as info:
        load_station_text(base + "operators:\n  - {name: bob, pin_sha256: abc}\n")
    assert "operators.0.pin_sha256" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_station_text(base + "operators:\n  - {name: bob}\n")
    assert "needs pin_hash or badge_hash" in str(info.value)
    h = hash_code("1")
    with pytest.raises(ConfigError) as info:
        load_station_text(
            base + f"operators:\n  - {{name: bob, pin_sha256: {h}}}\n  - {{name: bob, pin_sha256: {h}}}\n"
        )
    assert "station.yaml:5: operators.1.name: operator 'bob' is listed twice" in str(info.value)


def test_racks_dir_must_be_a_folder(tmp_path):
    path = tmp_path / "station.yaml"
    path.write_text("station: {id: S1}\ninstruments: {}\nracks_dir: nowhere\n")
    with pytest.raises(ConfigError) as info:
        load_station(path)
    assert "station.yaml:3: racks_dir:" in str(info.value) and "is not a folder" in str(info.value)


def test_auth_pin_badge_and_lockout():
    station = load_station_text(
        "station: {id: S1}\ninstruments: {}\noperators:\n"
        f"  - {{name: alice, pin_sha256: {hash_code(PIN)}, badge_sha256: {hash_code(BADGE)}}}\n"
    )
    auth = Auth(station.operators)
    assert auth.check_code(PIN) == "alice"
    assert auth.check_code(BADGE + "\n") == "alice"  # a scanner's Enter
    assert auth.check_code("0000") is None
    token = auth.login(PIN)
    assert auth.operator(token) == "alice" and auth.operator("forged") is None
    auth.logout(token)
    assert auth.operator(token) is None
    for _ in range(MAX_FAILURES):
        auth.check_code("0000")
    assert auth.check_code(PIN) is None  # locked out for a while, even with the right PIN


def test_prompt_channel_round_trip(tmp_path):
    ask = channel_ask(tmp_path, poll_s=0.01)
    answered: list[str] = []

    def operator_at_the_page():
        while not (tmp_path / "prompt-1.json").exists():
            threading.Event().wait(0.01)
        prompt = json.loads((tmp_path / "prompt-1.json").read_text())
        answered.append(prompt["text"])
        (tmp_path / "answer-1.json").write_text(json.dumps({"answer": "RK-1"}))

    helper = threading.Thread(target=operator_at_the_page)
    helper.start()
    assert ask("Scan the rack serial label: ") == "RK-1"
    helper.join()
    assert answered == ["Scan the rack serial label"]


# -- the app in process (no run started) ---------------------------------------------------


@pytest.fixture
def client(tmp_path):
    station = load_station(make_station(tmp_path))
    ctx = build_context(station, results_dir=tmp_path / "results", simulate=True)
    with TestClient(create_app(ctx), base_url="http://127.0.0.1") as c:
        c.app_context = ctx
        yield c


def test_viewer_sees_no_controls_and_gets_403(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'id="start"' not in page.text and 'id="stop"' not in page.text
    assert 'id="login-form"' in page.text
    r = client.post("/api/runs", json={"serial": DEMO_SERIAL}, headers=HEADERS)
    assert r.status_code == 403
    assert client.post("/api/runs/current/stop", headers=HEADERS).status_code == 403
    assert client.post("/api/prompts/1", json={"answer": "x"}, headers=HEADERS).status_code == 403
    assert client.get("/api/state").json()["run"] is None


def test_login_then_actions_need_the_header(client):
    assert client.post("/api/login", json={"code": "0000"}, headers=HEADERS).status_code == 401
    assert client.post("/api/login", json={"code": PIN}).status_code == 403  # no X-Rackval: a foreign form
    r = client.post("/api/login", json={"code": PIN}, headers=HEADERS)
    assert r.status_code == 200 and r.json() == {"operator": "alice"}
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert 'id="start"' in client.get("/").text
    assert client.post("/api/runs", json={"serial": DEMO_SERIAL}).status_code == 403  # header missing
    r = client.post("/api/runs", json={"serial": "RK-NOPE"}, headers=HEADERS)
    assert r.status_code == 404 and "RK-NOPE" in r.json()["error"]
    assert client.post("/api/runs/current/stop", headers=HEADERS).status_code == 409
    client.post("/api/logout", headers=HEADERS)
    assert client.post("/api/runs", json={"serial": DEMO_SERIAL}, headers=HEADERS).status_code == 403


def test_no_secret_or_hash_in_the_page(client):
    client.post("/api/login", json={"code": PIN}, headers=HEADERS)
    served = client.get("/").text + client.get("/api/state").text + client.get("/static/app.js").text
    stored = [h for op in client.app_context.station.operators for h in op.hashes()]
    assert len(stored) == 2
    for secret in [*demo_secrets(), *stored, *(h.split("$")[-1] for h in stored), PIN, BADGE]:
        assert secret not in served


# -- a real page server and real runs --------------------------------------------------


def sse_events(response: httpx.Response):
    """(event, data) pairs of a server-sent event stream, checking the framing as it goes."""
    kind = data = None
    for line in response.iter_lines():
        if line.startswith(":"):
            continue
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
        elif line == "":
            if kind is None and data is None:
                continue  # the end of a comment (keep-alive) block
            assert kind is not None, "an SSE block without an event: line"
            yield kind, data
            kind = data = None
        else:
            raise AssertionError(f"not an SSE line: {line!r}")


def test_run_from_the_api_streams_progress_prompt_and_pass(tmp_path):
    with serve(tmp_path) as served:
        check_run_through_the_api(served)


def check_run_through_the_api(served) -> None:
    with httpx.Client(base_url=served.url, timeout=60) as http:
        assert http.post("/api/login", json={"code": PIN}, headers=HEADERS).status_code == 200
        seen: list[tuple[str, dict | None]] = []
        raw: list[str] = []
        with httpx.stream("GET", served.url + "api/events", timeout=60) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = sse_events(stream)
            assert next(events) == ("snapshot", None)  # no run yet
            r = http.post("/api/runs", json={"serial": DEMO_SERIAL}, headers=HEADERS)
            assert r.status_code == 201, r.text
            assert http.post("/api/runs", json={"serial": DEMO_SERIAL}, headers=HEADERS).status_code == 409
            for kind, data in events:
                seen.append((kind, data))
                raw.append(json.dumps(data))
                if data and data.get("prompt"):
                    prompt = data["prompt"]
                    assert prompt["text"] == "Scan the rack serial label"
                    r = http.post(
                        f"/api/prompts/{prompt['id']}", json={"answer": DEMO_SERIAL}, headers=HEADERS
                    )
                    assert r.status_code == 200
                if data and data.get("exit_code") is not None:
                    break
    assert seen[0][0] == "snapshot" and seen[0][1]["serial"] == DEMO_SERIAL
    final = seen[-1][1]
    assert final["outcome"] == "pass" and final["exit_code"] == 0, served.log.read_text()[-2000:]
    assert final["total"] == final["done"] == final["counts"]["passed"] > 0
    assert final["model"] == "AIR-42U-DEMO" and final["run_id"]
    done = [d["done"] for k, d in seen if k == "update"]
    assert done == sorted(done) and any(0 < n < final["total"] for n in done)  # progress, not just the end
    assert any(d.get("running") for _, d in seen if d)  # the item now running was shown
    stream_text = "\n".join(raw)
    for secret in demo_secrets():
        assert secret not in stream_text
    with httpx.Client(base_url=served.url, timeout=60) as http:
        history = http.get("/api/history", params={"serial": DEMO_SERIAL}).json()["runs"]
        assert [r["run_id"] for r in history] == [final["run_id"]]
        assert history[0]["outcome"] == "pass" and history[0]["operator"] == "alice"
        report = http.get(f"/runs/{final['run_id']}/report")
        assert report.status_code == 200 and DEMO_SERIAL in report.text
        assert http.get("/runs/0000000000000000/report").status_code == 404


def test_stop_from_the_api_interrupts_the_run(tmp_path):
    with serve(tmp_path) as served, httpx.Client(base_url=served.url, timeout=60) as http:
        http.post("/api/login", json={"code": PIN}, headers=HEADERS)
        assert http.post("/api/runs", json={"serial": DEMO_SERIAL}, headers=HEADERS).status_code == 201
        with httpx.stream("GET", served.url + "api/events", timeout=60) as stream:
            for _kind, data in sse_events(stream):
                if data and data.get("prompt") and not data.get("stopping"):
                    # the run waits at its prompt: Stop is Ctrl-C for it
                    assert http.post("/api/runs/current/stop", headers=HEADERS).status_code == 200
                if data and data.get("exit_code") is not None:
                    break
        assert data["exit_code"] == 130 and data["outcome"] == "aborted"
        assert data["prompt"] is None


def test_serve_refuses_a_station_without_racks_dir(tmp_path):
    import subprocess
    import sys

    station = Path(tmp_path / "s.yaml")
    station.write_text("station: {id: S1}\ninstruments: {}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "rackval", "station", "serve", "--station", str(station), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "racks_dir" in proc.stderr


MANUAL_SUITE = """
def test_manual_steps(operator):
    operator.confirm("Connect the DMM probe to busbar A", key="probe-a")
    serial = operator.scan("Scan the rack serial", key="rack-serial", expected="RK-DEMO-0001")
    temp = operator.enter("Ambient temperature (C)", key="ambient", convert=float)
    assert serial == "RK-DEMO-0001" and temp == 22.5
"""


def test_prompts_of_a_test_are_answered_from_the_page(tmp_path):
    suite = tmp_path / "manual"
    suite.mkdir()
    (suite / "test_manual.py").write_text(MANUAL_SUITE)
    answers = {"confirm": "", "Scan the rack serial": DEMO_SERIAL, "Ambient temperature (C)": "22.5"}
    asked: list[tuple[str, str]] = []
    with (
        serve(tmp_path, suite=str(suite), scan_rack_serial=False) as served,
        httpx.Client(base_url=served.url, timeout=60) as http,
    ):
        http.post("/api/login", json={"code": PIN}, headers=HEADERS)
        assert http.post("/api/runs", json={"serial": DEMO_SERIAL}, headers=HEADERS).status_code == 201
        with httpx.stream("GET", served.url + "api/events", timeout=60) as stream:
            for _kind, data in sse_events(stream):
                prompt = data and data.get("prompt")
                if prompt and (prompt["text"], prompt["kind"]) not in asked:
                    asked.append((prompt["text"], prompt["kind"]))
                    answer = answers["confirm" if prompt["kind"] == "confirm" else prompt["text"]]
                    r = http.post(f"/api/prompts/{prompt['id']}", json={"answer": answer}, headers=HEADERS)
                    assert r.status_code == 200
                if data and data.get("exit_code") is not None:
                    break
    assert asked == [
        ("Connect the DMM probe to busbar A", "confirm"),
        ("Scan the rack serial", "value"),
        ("Ambient temperature (C)", "value"),
    ]
    assert data["outcome"] == "pass" and data["counts"]["passed"] == data["total"] == 1, (
        served.log.read_text()
    )


def test_wrong_serial_scanned_is_an_error_with_the_reason(tmp_path):
    with serve(tmp_path) as served, httpx.Client(base_url=served.url, timeout=60) as http:
        http.post("/api/login", json={"code": PIN}, headers=HEADERS)
        assert http.post("/api/runs", json={"serial": DEMO_SERIAL}, headers=HEADERS).status_code == 201
        with httpx.stream("GET", served.url + "api/events", timeout=60) as stream:
            answered = False
            for _kind, data in sse_events(stream):
                if data and data.get("prompt") and not answered:
                    answered = True
                    http.post(
                        f"/api/prompts/{data['prompt']['id']}", json={"answer": "RK-OTHER"}, headers=HEADERS
                    )
                if data and data.get("exit_code") is not None:
                    break
    assert (
        data["exit_code"] == 3 and data["outcome"] == "error"
    )  # rackval run's "rack not ready / wrong rack"
    assert any("scanned rack serial 'RK-OTHER', expected 'RK-DEMO-0001'" in line for line in data["log_tail"])


def test_stop_during_a_destructive_test_restores_the_rack(tmp_path):
    """Stop is Ctrl-C: the run's teardown switches pdu-a outlet 5 back on, journaled."""
    suite = ROOT / "tests" / "data" / "destructive_suite"  # switches outlet 5 off, then hangs
    with (
        serve(tmp_path, suite=str(suite), scan_rack_serial=False, env={"RACKVAL_BREAK": "hang"}) as served,
        httpx.Client(base_url=served.url, timeout=60) as http,
    ):
        http.post("/api/login", json={"code": PIN}, headers=HEADERS)
        assert http.post("/api/runs", json={"serial": DEMO_SERIAL}, headers=HEADERS).status_code == 201
        journals = served.results / "journals" / DEMO_SERIAL
        deadline = time.monotonic() + 60
        while not any('"change"' in j.read_text() for j in journals.glob("*.jsonl")):
            assert time.monotonic() < deadline, served.log.read_text()[-2000:]
            time.sleep(0.05)
        state = http.get("/api/state").json()["run"]
        assert [n.rsplit("::", 1)[-1] for n in state["running"]] == ["test_switch_off_then_break"]
        assert http.post("/api/runs/current/stop", headers=HEADERS).status_code == 200
        with httpx.stream("GET", served.url + "api/events", timeout=60) as stream:
            for _kind, data in sse_events(stream):
                if data and data.get("exit_code") is not None:
                    break
    assert data["exit_code"] == 130 and data["outcome"] == "aborted", served.log.read_text()[-2000:]
    entries = [json.loads(line) for j in journals.glob("*.jsonl") for line in j.read_text().splitlines()]
    changes = {e["id"] for e in entries if e["event"] == "change"}
    restored = {e["id"] for e in entries if e["event"] == "restored"}
    assert any(e["event"] == "change" and e["device"] == "pdu-a" and e["target"] == 5 for e in entries)
    assert changes and changes <= restored


def test_the_page_servers_socket_accepts_before_the_server_runs():
    """The ready file is written before uvicorn starts: a client that connects then is queued, not refused."""
    import socket

    from rackval.web.cli import listening_socket

    sock, url = listening_socket("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert url == f"http://127.0.0.1:{port}/"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:  # nothing serves yet
            accepted, _ = sock.accept()
            with accepted:
                client.sendall(b"GET / HTTP/1.0\r\n\r\n")
                assert accepted.recv(64).startswith(b"GET / HTTP/1.0")
    finally:
        sock.close()
