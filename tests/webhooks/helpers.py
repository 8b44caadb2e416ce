"""A real HTTP receiver for the webhook tests: uvicorn on 127.0.0.1 in the test's event loop,
recording every request; it can answer any status, sleep before answering, stop and start again
on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from app.core.embedded import free_port
from app.models.webhooks import WebhookDelivery
from tests.support.factories import TestUser

URL = "/api/v1/admin/webhooks"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    status: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(scope["path"], headers, body))
        if self.delay:
            await asyncio.sleep(self.delay)
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def start(self) -> None:
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            interface="asgi3",
        )
        self._server = uvicorn.Server(config)
        # Not the test process's signals: two receivers would restore each other's handlers.
        self._server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):
            if self._server.started:
                return
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        raise AssertionError("the receiver did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            await self._task
        self._server = self._task = None

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


async def register(
    client: httpx.AsyncClient, admin: TestUser, url: str, events: list[str], **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        URL, headers=admin.headers, json={"url": url, "events": events, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(app: FastAPI) -> list[WebhookDelivery]:
    async with app.state.db.sessionmaker() as session:
        return list((await session.scalars(select(WebhookDelivery))).all())


async def delivery(app: FastAPI, delivery_id: uuid.UUID) -> WebhookDelivery:
    async with app.state.db.sessionmaker() as session:
        row = await session.get(WebhookDelivery, delivery_id)
        assert row is not None
        return row
