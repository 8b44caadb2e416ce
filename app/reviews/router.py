"""/api/v1 routes of the reviews domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["reviews"])
