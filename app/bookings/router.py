"""/api/v1 routes of the bookings domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["bookings"])
