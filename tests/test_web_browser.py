"""The station page in a real headless Chromium (Playwright): what a technician does.

One page server (simulated demo rack, power suite, the dead-outlet scenario on
offer) per module: a viewer cannot start; an operator (one test, as each step
needs the runs of the one before) runs the rack, answering the rack-serial
prompt in a dialog, to PASS, then under a fault to FAIL with the failing item
named, opens the report and retests the failures from the history, and stops
a run from its prompt.

Screenshots of each view: ``$RACKVAL_ARTIFACTS/screenshots/`` when set, else the
test's temporary folder (printed with ``-s``).
"""

from __future__ import annotations

import pytest

from tests.web_helpers import DEMO_SERIAL, PIN, artifacts_dir, demo_secrets, serve

pytestmark = pytest.mark.timeout(180)

RUN_TIMEOUT_MS = 90_000  # a run of the power suite takes seconds; generous for a loaded CI machine


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("station")) as s:
        yield s


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = artifacts_dir(tmp_path_factory.mktemp("screenshots"))
    print(f"screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def operator_page(browser, served):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(served.url)
    page.fill("#login-code", PIN)
    page.click("#login")
    page.wait_for_selector("#start")
    yield page
    context.close()


def no_secrets(html: str) -> None:
    for secret in demo_secrets():
        assert secret not in html


def start_and_answer(page, shots, name: str, scenario: str = "") -> None:
    """Scan the serial into the start form, Start, answer the run's rack-serial prompt."""
    page.wait_for_selector("#start:not([disabled])", timeout=RUN_TIMEOUT_MS)  # the last run has exited
    page.fill("#serial", DEMO_SERIAL)
    page.select_option("#scenario", scenario)
    page.click("#start")
    dialog = page.locator("#prompt-dialog")
    dialog.wait_for(state="visible", timeout=RUN_TIMEOUT_MS)
    assert "Scan the rack serial label" in page.inner_text("#prompt-text")
    page.screenshot(path=shots / f"{name}-prompt.png")
    page.fill("#prompt-input", DEMO_SERIAL)
    page.click("#prompt-ok")
    dialog.wait_for(state="hidden")


def wait_verdict(page) -> str:
    page.wait_for_selector("#verdict:not([hidden])", timeout=RUN_TIMEOUT_MS)
    return page.inner_text("#verdict")


def test_viewer_cannot_start_a_run(browser, served, shots):
    context = browser.new_context()
    page = context.new_page()
    page.goto(served.url)
    assert page.locator("#start").count() == 0 and page.locator("#stop").count() == 0
    assert page.locator("#login-form").is_visible()
    response = page.request.post(
        served.url + "api/runs", data={"serial": DEMO_SERIAL}, headers={"X-Rackval": "1"}
    )
    assert response.status == 403
    page.screenshot(path=shots / "viewer.png")
    context.close()


def run_to_pass_with_a_prompt_in_a_dialog(page, shots) -> None:
    # every value the done counter shows, as the page shows it
    page.evaluate(
        """() => { window.seenDone = [];
        new MutationObserver(() => window.seenDone.push(Number(document.getElementById('done').textContent)))
          .observe(document.getElementById('done'), {childList: true, subtree: true}); }"""
    )
    start_and_answer(page, shots, "pass")
    page.wait_for_function("Number(document.getElementById('done').textContent) > 0", timeout=RUN_TIMEOUT_MS)
    page.screenshot(path=shots / "running.png")
    assert wait_verdict(page) == "PASS"
    page.screenshot(path=shots / "pass.png")
    total = int(page.inner_text("#total"))
    seen = page.evaluate("window.seenDone")
    assert total > 0 and seen[-1] == total
    assert any(0 < n < total for n in seen), seen  # items progressed on the page, not only the end
    assert page.inner_text("#n-failed") == "0"
    assert page.locator("#failures li").count() == 0
    assert page.inner_text("#rack-serial") == DEMO_SERIAL and "AIR-42U-DEMO" in page.inner_text("#rack-model")
    no_secrets(page.content())


def run_under_a_fault_fails_naming_the_item(page, shots) -> None:
    start_and_answer(page, shots, "fail", scenario="dead-outlet")
    assert wait_verdict(page) == "FAIL"
    page.screenshot(path=shots / "fail.png")
    assert not page.locator("#stop").is_visible()  # nothing left to stop
    failures = page.inner_text("#failures")
    assert "pdu-a/3" in failures and "test_outlet_current[pdu-a/3]" in failures
    assert "outlet_current = 0 A, expected" in failures  # the measurement against its limit
    assert int(page.inner_text("#n-failed")) >= 2
    no_secrets(page.content())


def history_opens_the_report_and_retests(page, shots) -> None:
    page.wait_for_selector("#start:not([disabled])", timeout=RUN_TIMEOUT_MS)
    page.click("#tab-history")
    rows = page.locator("#history tbody tr")
    rows.first.wait_for()
    assert rows.count() == 2
    outcomes = [rows.nth(i).locator("td.outcome").inner_text() for i in range(2)]
    assert outcomes == ["FAIL", "PASS"]  # newest first
    page.screenshot(path=shots / "history.png")
    failed_run = rows.first.get_attribute("data-run")
    assert rows.nth(1).locator("button.retest").count() == 0  # nothing to retest in a pass
    with page.context.expect_page() as report_page_info:
        rows.first.locator("a.report").click()
    report = report_page_info.value
    report.wait_for_load_state()
    body = report.inner_text("body")
    assert DEMO_SERIAL in body and failed_run in body and "FAIL" in body
    report.screenshot(path=shots / "report.png")
    no_secrets(report.content())
    report.close()

    rows.first.locator("button.retest").click()  # rackval run --retest RUN: only what failed
    page.wait_for_selector("#view-run:not([hidden])")
    page.locator("#prompt-dialog").wait_for(state="visible", timeout=RUN_TIMEOUT_MS)
    page.fill("#prompt-input", DEMO_SERIAL)
    page.click("#prompt-ok")
    # the retest runs without the fault (the outlet was "repaired"): the three failures pass now
    assert wait_verdict(page) == "PASS"
    page.screenshot(path=shots / "retest.png")
    assert page.inner_text("#total") == page.inner_text("#n-passed") == "3"


def abort_at_a_prompt_stops_the_run(page, shots) -> None:
    page.wait_for_selector("#start:not([disabled])", timeout=RUN_TIMEOUT_MS)
    page.fill("#serial", DEMO_SERIAL)
    page.select_option("#scenario", "")
    page.click("#start")
    page.locator("#prompt-dialog").wait_for(state="visible", timeout=RUN_TIMEOUT_MS)
    page.click("#prompt-abort")  # Stop: SIGINT to the run, the same restore as Ctrl-C
    assert wait_verdict(page) == "STOPPED"
    page.screenshot(path=shots / "stopped.png")


def test_technician_runs_a_rack_from_the_page(operator_page, shots):
    """One technician's shift, in order (each step needs the runs of the one before)."""
    run_to_pass_with_a_prompt_in_a_dialog(operator_page, shots)
    run_under_a_fault_fails_naming_the_item(operator_page, shots)
    history_opens_the_report_and_retests(operator_page, shots)
    abort_at_a_prompt_stops_the_run(operator_page, shots)
