"""/api/v1/admin/jobs: background jobs read from arq's keys in Redis; retry and abort; /metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from app.core.db import Database
from tests.admin.helpers import RunWorker, jobs_in_every_state
from tests.notifications.helpers import (
    BackgroundWorker,
    record_event,
    wait_for_blocked_insert,
)
from tests.support.factories import UserFactory
from tests.support.meetups import Meetups

URL = "/api/v1/admin/jobs"


async def test_jobs_are_listed_by_state_with_their_details(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory, run_worker: RunWorker
) -> None:
    admin = await users.admin()
    made = await jobs_in_every_state(app.state.redis, run_worker)

    everything = (await client.get(URL, headers=admin.headers)).json()
    assert everything["total"] == 4
    assert [job["state"] for job in everything["items"]] == [
        "queued",
        "deferred",
        "complete",
        "failed",
    ]

    [failed] = (await client.get(URL, params={"state": "failed"}, headers=admin.headers)).json()[
        "items"
    ]
    assert failed["id"] == made.failed
    assert failed["function"] == "process_event"
    assert failed["args"] == "'not-a-uuid'"
    assert failed["error"].startswith("ValueError: badly formed hexadecimal UUID string")
    assert failed["tries"] == 1
    assert failed["duration_seconds"] is not None and failed["duration_seconds"] >= 0
    assert failed["finished"] is not None and failed["result"] is None

    [complete] = (
        await client.get(URL, params={"state": "complete"}, headers=admin.headers)
    ).json()["items"]
    assert (complete["id"], complete["result"], complete["error"]) == (
        made.complete,
        "skipped",
        None,
    )

    [deferred] = (
        await client.get(URL, params={"state": "deferred"}, headers=admin.headers)
    ).json()["items"]
    assert deferred["id"] == made.deferred and deferred["function"] == "send_reminder"
    due = datetime.fromisoformat(deferred["scheduled_for"])
    assert timedelta(minutes=59) < due - datetime.now(UTC) <= timedelta(hours=1)
    [queued] = (await client.get(URL, params={"state": "queued"}, headers=admin.headers)).json()[
        "items"
    ]
    assert queued["id"] == made.queued and queued["tries"] == 0
    assert queued["enqueued"] is not None


async def test_jobs_page_like_every_list(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory, run_worker: RunWorker
) -> None:
    admin = await users.admin()
    await jobs_in_every_state(app.state.redis, run_worker)
    page = (await client.get(URL, params={"limit": 1, "offset": 1}, headers=admin.headers)).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (4, 1, 1, 1)
    assert page["items"][0]["state"] == "deferred"
    bad = await client.get(URL, params={"state": "stuck"}, headers=admin.headers)
    assert bad.status_code == 422


async def test_a_running_job_is_in_progress_and_cannot_be_aborted(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: Database,
    users: UserFactory,
    meetups: Meetups,
) -> None:
    admin, host, guest = await users.admin(), await users.create(), await users.create()
    meetup = await meetups.create(host)
    booking = await meetups.book(meetup, guest)
    event_id = await record_event(
        app, "booking_approved", announcement_id=meetup.id, booking_id=booking.id
    )
    async with db.engine.connect() as blocker:
        transaction = await blocker.begin()
        await blocker.execute(
            text("SELECT 1 FROM user_account WHERE id = :id FOR UPDATE"), {"id": guest.id}
        )
        worker = BackgroundWorker()
        try:
            await wait_for_blocked_insert(db, "notification")
            response = await client.get(URL, params={"state": "in_progress"}, headers=admin.headers)
            [running] = response.json()["items"]
            assert running["id"] == f"event:{event_id}"
            assert running["tries"] == 1
            abort = await client.post(f"{URL}/{running['id']}/abort", headers=admin.headers)
            assert abort.status_code == 409
            assert abort.json()["code"] == "job_not_abortable"
        finally:
            await transaction.rollback()
            await worker.kill()


async def test_a_failed_job_is_retried_under_a_new_id_with_the_same_arguments(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory, run_worker: RunWorker
) -> None:
    admin = await users.admin()
    made = await jobs_in_every_state(app.state.redis, run_worker)
    response = await client.post(f"{URL}/{made.failed}/retry", headers=admin.headers)
    assert response.status_code == 202, response.text
    retried = response.json()
    assert retried["id"].startswith(f"{made.failed}:retry:")
    assert (retried["function"], retried["args"], retried["state"]) == (
        "process_event",
        "'not-a-uuid'",
        "queued",
    )
    queued = {job.job_id for job in await app.state.redis.queued_jobs()}
    assert retried["id"] in queued

    not_failed = await client.post(f"{URL}/{made.complete}/retry", headers=admin.headers)
    assert (not_failed.status_code, not_failed.json()["code"]) == (409, "job_not_failed")
    waiting = await client.post(f"{URL}/{made.queued}/retry", headers=admin.headers)
    assert (waiting.status_code, waiting.json()["code"]) == (409, "job_not_failed")
    unknown = await client.post(f"{URL}/no-such-job/retry", headers=admin.headers)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")


async def test_a_deferred_or_queued_job_is_aborted_and_never_runs(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory, run_worker: RunWorker
) -> None:
    admin = await users.admin()
    made = await jobs_in_every_state(app.state.redis, run_worker)
    for job_id in (made.deferred, made.queued):
        response = await client.post(f"{URL}/{job_id}/abort", headers=admin.headers)
        assert response.status_code == 200, response.text
        aborted = response.json()
        assert (aborted["id"], aborted["state"]) == (job_id, "failed")
        assert aborted["error"] == "CancelledError: aborted by an admin"
    assert await app.state.redis.queued_jobs() == []
    assert await run_worker() == 0

    again = await client.post(f"{URL}/{made.deferred}/abort", headers=admin.headers)
    assert (again.status_code, again.json()["code"]) == (409, "job_not_abortable")
    done = await client.post(f"{URL}/{made.complete}/abort", headers=admin.headers)
    assert done.status_code == 409
    unknown = await client.post(f"{URL}/no-such-job/abort", headers=admin.headers)
    assert unknown.status_code == 404


async def test_only_admins_see_and_touch_the_jobs(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    member, moderator = await users.create(), await users.moderator()
    for user in (member, moderator):
        assert (await client.get(URL, headers=user.headers)).status_code == 403
        retry = await client.post(f"{URL}/any/retry", headers=user.headers)
        assert retry.status_code == 403
    anonymous = await client.get(URL)
    assert anonymous.status_code == 401


async def test_metrics_report_queue_depth_and_job_outcomes(
    client: httpx.AsyncClient, app: FastAPI, run_worker: RunWorker
) -> None:
    await jobs_in_every_state(app.state.redis, run_worker)
    body = (await client.get("/metrics")).text
    assert 'meetup_queue_depth{state="queued"} 1.0' in body
    assert 'meetup_queue_depth{state="deferred"} 1.0' in body
    assert 'meetup_queue_depth{state="in_progress"} 0.0' in body
    assert 'meetup_jobs_finished{function="process_event",outcome="failed"} 1.0' in body
    assert 'meetup_jobs_finished{function="process_event",outcome="complete"} 1.0' in body
    assert "meetup_worker_heartbeat_age_seconds +Inf" in body  # the test worker has stopped
    assert "meetup_jobs_redis_up 1.0" in body


async def test_jobs_answer_503_while_redis_is_down(
    app_with_own_redis: tuple[FastAPI, object], users: UserFactory
) -> None:
    offline_app, offline_redis = app_with_own_redis
    admin = await users.admin()
    offline_redis.stop()  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=offline_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as offline:
        response = await offline.get(URL, headers=admin.headers)
        metrics = await offline.get("/metrics")
    assert response.status_code == 503
    assert response.json()["code"] == "redis_unavailable"
    assert metrics.status_code == 200
    assert "meetup_jobs_redis_up 0.0" in metrics.text
