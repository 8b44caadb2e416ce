"""Liveness, readiness and Prometheus metrics, at the root (not under /api/v1)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.admin.jobs import collect_metrics
from app.core.metrics import render
from app.core.schemas import ApiEnum, ResponseModel
from app.ops import service

router = APIRouter(tags=["operations"])


class Health(ResponseModel):
    status: Literal["ok"] = "ok"


class ReadinessStatus(ApiEnum):
    ok = "ok"
    unavailable = "unavailable"


class Readiness(BaseModel):
    status: ReadinessStatus
    services: dict[str, str]


class NotReady(BaseModel):
    detail: str
    code: Literal["not_ready"]
    services: dict[str, str]


@router.get("/health", response_model=Health, summary="Liveness: the process is up")
async def get_health() -> Health:
    """Liveness: the process is up."""
    return Health()


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": NotReady, "description": "PostgreSQL or Redis does not answer"}},
)
async def get_readiness(request: Request) -> Readiness | JSONResponse:
    """Readiness: PostgreSQL and Redis both answer."""
    services = await service.check_services(request.app.state.db, request.app.state.redis)
    down = [name for name, state in services.items() if state != "ok"]
    if down:
        return JSONResponse(
            {
                "detail": f"Not ready: {' and '.join(down)} {'is' if len(down) == 1 else 'are'} down.",
                "code": "not_ready",
                "services": services,
            },
            status_code=503,
        )
    return Readiness(status=ReadinessStatus.ok, services=services)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def get_metrics(request: Request) -> Response:
    """Prometheus metrics (nginx keeps this internal)."""
    await collect_metrics(request.app.state.redis)  # queue depth and job outcomes, from Redis
    body, content_type = render()
    return Response(body, media_type=content_type)
