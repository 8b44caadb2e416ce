"""/api/v1 routes of the movies domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["movies"])
