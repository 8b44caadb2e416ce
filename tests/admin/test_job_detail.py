"""GET and DELETE /api/v1/admin/jobs/{id}; the safe reading of arq's pickles."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import httpx
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from fastapi import FastAPI

from tests.admin.helpers import RunWorker, jobs_in_every_state
from tests.support.factories import UserFactory

URL = "/api/v1/admin/jobs"


async def test_a_failed_job_shows_its_arguments_and_traceback(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory, run_worker: RunWorker
) -> None:
    admin = await users.admin()
    made = await jobs_in_every_state(app.state.redis, run_worker)
    response = await client.get(f"{URL}/{made.failed}", headers=admin.headers)
    assert response.status_code == 200, response.text
    failed = response.json()
    assert (failed["function"], failed["state"], failed["tries"]) == ("process_event", "failed", 1)
    assert failed["arguments"] == "'not-a-uuid'"
    assert failed["error"].startswith("ValueError: badly formed hexadecimal UUID string")
    assert failed["traceback"].startswith("Traceback (most recent call last):")
    assert "process_event" in failed["traceback"] and "ValueError" in failed["traceback"]
    assert failed["started"] and failed["finished"] and failed["duration_seconds"] >= 0

    complete = (await client.get(f"{URL}/{made.complete}", headers=admin.headers)).json()
    assert (complete["state"], complete["result"], complete["traceback"]) == (
        "complete",
        "skipped",
        None,
    )
    deferred = (await client.get(f"{URL}/{made.deferred}", headers=admin.headers)).json()
    assert deferred["state"] == "deferred" and deferred["function"] == "send_reminder"
    missing = await client.get(f"{URL}/no-such-job", headers=admin.headers)
    assert missing.status_code == 404


async def test_delete_removes_a_deferred_or_finished_job_and_refuses_a_running_one(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory, run_worker: RunWorker
) -> None:
    admin = await users.admin()
    redis = app.state.redis
    made = await jobs_in_every_state(redis, run_worker)
    for job_id in (made.deferred, made.failed, made.queued):
        response = await client.delete(f"{URL}/{job_id}", headers=admin.headers)
        assert response.status_code == 204, response.text
        assert (await client.get(f"{URL}/{job_id}", headers=admin.headers)).status_code == 404
    assert not await redis.exists(job_key_prefix + made.deferred, result_key_prefix + made.failed)
    assert await redis.zcard("arq:queue") == 0
    again = await client.delete(f"{URL}/{made.deferred}", headers=admin.headers)
    assert again.status_code == 404

    # A running job: arq's in-progress mark, as a worker sets it when it starts the job.
    await redis.enqueue_job("process_event", "x", _job_id="running")
    await redis.set(in_progress_key_prefix + "running", b"1", px=60_000)
    refused = await client.delete(f"{URL}/running", headers=admin.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "job_running"
    assert (await client.get(f"{URL}/running", headers=admin.headers)).json()["state"] == (
        "in_progress"
    )


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


async def test_a_malicious_pickle_is_shown_unreadable_and_never_runs(
    client: httpx.AsyncClient, app: FastAPI, users: UserFactory, tmp_path: Path
) -> None:
    admin = await users.admin()
    redis = app.state.redis
    marker = tmp_path / "pwned"
    await redis.set(result_key_prefix + "evil", pickle.dumps(_Evil(marker)))
    inner = {"t": 1, "f": "process_event", "a": (_Evil(marker),), "k": {}, "et": 0, "s": False}
    inner |= {"r": _Evil(marker), "st": 0, "ft": 0, "q": "arq:queue", "id": "inner"}
    await redis.set(result_key_prefix + "inner", pickle.dumps(inner))

    evil = (await client.get(f"{URL}/evil", headers=admin.headers)).json()
    assert (evil["function"], evil["error"], evil["state"]) == (
        "<unreadable>",
        "<unreadable>",
        "failed",
    )
    nested = (await client.get(f"{URL}/inner", headers=admin.headers)).json()
    assert nested["function"] == "process_event"
    assert nested["error"] == "<unreadable>"
    assert nested["arguments"] == "<unreadable posix.system>"  # named, never called
    listed = (await client.get(URL, params={"state": "failed"}, headers=admin.headers)).json()
    assert {job["id"] for job in listed["items"]} == {"evil", "inner"}
    assert (await client.get("/metrics")).status_code == 200
    assert not marker.exists()


async def test_only_admins_read_or_delete_a_job(
    client: httpx.AsyncClient, users: UserFactory
) -> None:
    member = await users.create()
    assert (await client.get(f"{URL}/any", headers=member.headers)).status_code == 403
    assert (await client.delete(f"{URL}/any", headers=member.headers)).status_code == 403
    assert (await client.get(f"{URL}/any")).status_code == 401
    assert (await client.delete(f"{URL}/any")).status_code == 401
