"""Root-level HTML pages: /admin/login and /admin (the job monitor)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["admin pages"], include_in_schema=False)
