"""The web front end's routes and static files (mounted at /static by app.main)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from app.web import account, community, films, pages, ratings

STATIC = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)
router.include_router(account.router)
router.include_router(pages.router)
router.include_router(community.router)
router.include_router(ratings.router)
router.include_router(films.router)


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)
