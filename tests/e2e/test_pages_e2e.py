"""The operations page and the API docs in a real headless Chromium, against the real worker."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.e2e.conftest import SCREENSHOTS

INSTALL_HINT = "Chromium is missing: run `apt-get update && apt-get install -y chromium` (as root), or `make test`."
POINT = "acme/demo-hq/ahu-1:supply-air-temp"
SETPOINT = "acme/demo-hq/ahu-1:supply-air-temp-setpoint"
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
STROKES = {(0x1F, 0x77, 0xB4), (0xD6, 0x27, 0x28)}  # the first two series colours of ops.js
JOB_DEADLINE_MS = 120_000


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(INSTALL_HINT)  # never a silent skip
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, worker):
    """A fresh tab on the worker; fails the test on a script error or a Content-Security-Policy violation."""
    context = browser.new_context(viewport=LAPTOP, base_url=worker.url)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on("console", lambda message: problems.append(message.text)
           if "Content Security Policy" in message.text else None)
    sent: list[tuple[str, dict]] = []
    tab.on("request", lambda sent_request: sent.append((sent_request.url, sent_request.headers)))
    tab.sent = sent
    try:
        yield tab
    finally:
        context.close()
    assert not problems, problems


def enter_token(page: Page) -> None:
    page.goto("/")
    page.fill("#token", "dev-token")
    page.click("#token-save")
    page.wait_for_selector("#token-state:has-text('Token set')")


def query(page: Page, points: list[str], start: str, end: str, route: str = "", picked: bool = False) -> None:
    """Fill the query form and run it; `picked` points are chosen from the site's list, others typed."""
    page.fill("#q-site", "demo-hq")
    page.press("#q-site", "Tab")  # change: the page loads the site's points
    if picked:
        page.wait_for_selector("#q-point-list option", state="attached")
        page.select_option("#q-point-list", points)
    else:
        page.fill("#q-points", "\n".join(points))
    page.fill("#q-start", start)
    page.fill("#q-end", end)
    page.select_option("#q-route", route)
    page.click("#q-run")


def series_pixels(page: Page) -> int:
    """How many pixels of the query chart's canvas are drawn in a series colour."""
    counts = page.evaluate("""() => {
        const canvas = document.querySelector('#query-chart canvas');
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const counts = {};
        for (let i = 0; i < pixels.length; i += 4) {
            const key = pixels[i] + ',' + pixels[i + 1] + ',' + pixels[i + 2];
            counts[key] = (counts[key] || 0) + 1;
        }
        return counts;
    }""")
    return sum(count for key, count in counts.items() if tuple(map(int, key.split(","))) in STROKES)


def test_the_page_plots_the_samples_the_query_returned_for_points_picked_from_the_sites_list(page):
    enter_token(page)
    with page.expect_response(lambda response: "/api/timeseries?" in response.url) as answer:
        query(page, [POINT, SETPOINT], "2025-11-10T00:00", "2025-11-10T06:00", picked=True)
    body = answer.value.json()
    returned = sum(len(entry["samples"]) for entry in body["data"].values())
    caption = page.wait_for_selector("#query-caption[data-samples]")
    assert answer.value.status == 200 and returned > 300
    assert int(caption.get_attribute("data-samples")) == returned
    assert "2025-11-10T00:00:00.000Z" in caption.inner_text()
    assert series_pixels(page) > 500
    page.screenshot(path=SCREENSHOTS / "operations-laptop.png", full_page=True)


def test_max_points_is_offered_because_the_document_lists_it_and_bounds_the_plot(page):
    enter_token(page)
    page.wait_for_selector("#q-max-points-label:not([hidden])")
    page.fill("#q-max-points", "50")
    with page.expect_response(lambda response: "/api/timeseries?" in response.url) as answer:
        query(page, [POINT], "2025-11-10T00:00", "2025-11-10T06:00")
    assert "max_points=50" in answer.value.url and answer.value.json()["data"][POINT]["count"] == 50
    assert page.wait_for_selector("#query-caption[data-samples]").get_attribute("data-samples") == "50"


def test_the_token_travels_only_as_a_header_and_stays_in_the_tab(page):
    enter_token(page)
    page.sent.clear()  # from here on, every API call carries the token
    with page.expect_response(lambda response: "/api/timeseries?" in response.url):
        query(page, [POINT], "2025-11-10T00:00", "2025-11-10T01:00")
    api_calls = [(url, headers) for url, headers in page.sent if "/api/" in url]
    assert len(api_calls) >= 2 and all("dev-token" not in url for url, _ in page.sent)
    assert all(headers.get("x-ace-token") == "dev-token" for _, headers in api_calls)
    assert page.evaluate("sessionStorage.getItem('bv-token')") == "dev-token"
    assert page.evaluate("localStorage.length") == 0 and page.input_value("#token") == ""


def test_a_queued_jobs_progress_moves_on_the_page_until_completed_through_its_event_stream(page, simulator,
                                                                                          hq_points):
    simulator.faults([], latency_ms=1_500)  # slow FlightDeck, so the page sees the job between batches
    enter_token(page)
    with page.expect_response(lambda response: "/api/timeseries?" in response.url) as answer:
        query(page, hq_points[:120], "2025-07-01T00:00", "2025-07-02T00:00", route="queued")
    assert answer.value.status == 202 and answer.value.json()["status"] == "queued"
    job_id = answer.value.json()["jobId"]
    row = f"#jobs-table tr[data-job='{job_id}']"
    seen: list[float] = []
    page.wait_for_selector(row)
    deadline = page.evaluate("Date.now()") + JOB_DEADLINE_MS
    while page.evaluate("Date.now()") < deadline:
        # One read of the row: an event may replace it between two reads.
        value, status = page.eval_on_selector(row, "r => [r.querySelector('progress').value, r.cells[2].innerText]")
        seen.append(value)
        if status == "completed":
            break
        page.wait_for_timeout(200)
    assert page.inner_text(f"{row} td:nth-child(3)") == "completed"
    assert seen == sorted(seen) and seen[-1] == 100 and any(0 < value < 100 for value in seen), seen
    events = [headers for url, headers in page.sent if url.endswith(f"/api/jobs/{job_id}/events")]
    assert events and events[0].get("x-ace-token") == "dev-token"  # followed live, the token as a header
    page.screenshot(path=SCREENSHOTS / "operations-job.png", full_page=True)


def test_the_readme_link_fills_the_form_and_the_page_fits_a_phone_width(page):
    page.set_viewport_size(PHONE)
    enter_token(page)
    page.goto(f"/?site=demo-hq&points={POINT}&start_time=2025-11-10T00:00:00Z&end_time=2025-11-10T06:00:00Z")
    assert page.input_value("#q-start") == "2025-11-10T00:00" and page.input_value("#q-points") == POINT
    with page.expect_response(lambda response: "/api/timeseries?" in response.url) as answer:
        page.click("#q-run")
    caption = page.wait_for_selector("#query-caption[data-samples]")
    assert int(caption.get_attribute("data-samples")) == len(answer.value.json()["data"][POINT]["samples"]) == 360
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=SCREENSHOTS / "operations-phone.png", full_page=True)


def test_the_docs_page_loads_the_document_and_its_try_it_request_succeeds(page):
    enter_token(page)  # the docs page pre-fills the token this tab saved
    page.goto("/docs")
    page.click("#operations-jobs-listJobs .opblock-summary")
    with page.expect_request(lambda sent: sent.url.endswith("/api/jobs")) as sent:
        page.click("#operations-jobs-listJobs button.execute")
    assert sent.value.headers.get("x-ace-token") == "dev-token"
    answer = "#operations-jobs-listJobs .live-responses-table tbody tr.response"
    assert page.wait_for_selector(f"{answer} .response-col_status").inner_text().strip() == "200"
    assert '"jobs"' in page.inner_text(f"{answer} .response-col_description")
    page.screenshot(path=SCREENSHOTS / "docs.png", full_page=False)
