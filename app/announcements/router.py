"""/api/v1 routes of the announcements domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["announcements"])

# Short links live at the root: GET /s/{code}.
short_links_router = APIRouter(tags=["short links"])
