"""Job events (SSE): progress as it changes, one terminal event, resume by Last-Event-ID, bounded time."""

import asyncio
import json

import pytest

from services.api import Api
from services.app import Platform, Services
from services.ports import ApiRequest
from services.query import Priority
from tests.doubles import FakeMessage
from tests.fakeflightdeck import MANY
from tests.unit.test_jobs import queue_job

pytestmark = pytest.mark.usefixtures("many_points")


class Ticker:
    """A clock that each sleep advances; a chosen sleep can run a step (a consumer batch)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.steps: dict[int, object] = {}

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        step = self.steps.pop(self.sleeps, None)
        if step is not None:
            await step()


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def services(settings, db, store, queues, transport, deferred, clock, ticker) -> Services:
    platform = Platform(db=db, store=store, queues=queues, transport=transport, defer=deferred)
    return Services(settings, platform, now_ms=clock.ms, sleep=ticker.sleep, clock=ticker.clock)


def events(api: Api, job_id: str, token: str = "good", last_event_id: str | None = None) -> tuple[int, dict, list]:
    """Open the stream and read it to its end: status, headers and the SSE blocks as dicts."""
    headers = {"x-ace-token": token, **({"last-event-id": last_event_id} if last_event_id else {})}

    async def run() -> tuple:
        response = await api.handle(ApiRequest("GET", f"https://worker.test/api/jobs/{job_id}/events", headers))
        if isinstance(response.body, bytes):
            return response.status, response.headers, response.body.decode()
        return response.status, response.headers, b"".join([c async for c in response.body]).decode()

    status, sent, text = asyncio.run(run())
    blocks = []
    for block in filter(None, text.split("\n\n")):
        fields: dict = {}
        for line in block.splitlines():
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.strip()
        blocks.append(fields)
    return status, sent, blocks


def batches_on_sleeps(services, queues, ticker, sleeps: list[int]) -> None:
    for number, body in zip(sleeps, queues[Priority.NORMAL].sent):
        async def step(body=body) -> None:
            await services.consumer().consume("q", [FakeMessage(body)])
        ticker.steps[number] = step


def named(blocks: list[dict]) -> list[tuple[str, int]]:
    return [(b["event"], json.loads(b["data"])["progress"]) for b in blocks if "event" in b]


def test_events_rise_with_progress_then_end_with_completed_and_its_result_url(api, services, queues, ticker):
    _, job = queue_job(api, MANY)
    batches_on_sleeps(services, queues, ticker, [2, 3, 6])
    status, headers, blocks = events(api, job["jobId"])
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert named(blocks) == [("progress", 0), ("progress", 33), ("progress", 66), ("completed", 100)]
    assert json.loads(blocks[-1]["data"])["resultUrl"] == f"/api/jobs/{job['jobId']}/result"


def test_unchanged_polls_send_nothing_but_heartbeats(api, services, queues, ticker, settings):
    _, job = queue_job(api, MANY)
    quiet = int(settings.events_heartbeat_seconds / settings.events_poll_seconds) + 1
    batches_on_sleeps(services, queues, ticker, [quiet, quiet + 1, quiet + 2])
    _, _, blocks = events(api, job["jobId"])
    assert [b.get("comment") for b in blocks].count("heartbeat") == 1
    assert len(named(blocks)) == 4


def test_a_cancelled_job_ends_with_cancelled(api, ticker):
    _, job = queue_job(api, MANY)

    async def cancel() -> None:
        await api.handle(ApiRequest("DELETE", f"https://worker.test/api/jobs/{job['jobId']}", {"x-ace-token": "good"}))
    ticker.steps[1] = cancel
    _, _, blocks = events(api, job["jobId"])
    assert [name for name, _ in named(blocks)] == ["progress", "cancelled"]


def test_the_stream_ends_by_itself_after_its_time(api, ticker, settings):
    _, job = queue_job(api, MANY)
    _, _, blocks = events(api, job["jobId"])
    assert blocks[0] == {"retry": "2000"} and named(blocks) == [("progress", 0)]
    assert ticker.now == pytest.approx(settings.events_max_seconds)


def test_last_event_id_resumes_after_what_the_client_saw(api, services, queues, ticker):
    _, job = queue_job(api, MANY)
    _, _, first = events(api, job["jobId"])
    batches_on_sleeps(services, queues, ticker, [ticker.sleeps + 1, ticker.sleeps + 2, ticker.sleeps + 3])
    last_id = [b["id"] for b in first if "id" in b][-1]
    _, _, resumed = events(api, job["jobId"], last_event_id=last_id)
    assert named(resumed) == [("progress", 33), ("progress", 66), ("completed", 100)]


def test_a_client_that_saw_the_outcome_gets_204_so_eventsource_stops(api, services, queues):
    _, job = queue_job(api, MANY[:3])
    asyncio.run(services.consumer().consume("q", [FakeMessage(b) for b in queues[Priority.NORMAL].sent]))
    _, _, blocks = events(api, job["jobId"])
    status, _, again = events(api, job["jobId"], last_event_id=blocks[-1]["id"])
    assert named(blocks) == [("completed", 100)] and (status, again) == (204, [])


def test_another_owner_gets_404_json_not_a_stream(api):
    _, job = queue_job(api, MANY)
    status, headers, _ = events(api, job["jobId"], token="other")
    assert status == 404 and headers["content-type"].startswith("application/json")
