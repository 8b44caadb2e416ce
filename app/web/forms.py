"""Form posts: the CSRF check, field reading, and a service call that can fail without
poisoning the request's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.core.db import Tx
from app.core.errors import AppError
from app.core.logging import get_logger
from app.models.users import User
from app.web.render import refused, sign_in_first
from app.web.session import Visitor

log = get_logger(__name__)


class Fields:
    """A posted form's text fields (missing ones are empty)."""

    def __init__(self, data: FormData) -> None:
        self.data = data

    def __getitem__(self, name: str) -> str:
        value = self.data.get(name)
        return value.strip() if isinstance(value, str) else ""

    def raw(self, name: str) -> str:
        value = self.data.get(name)
        return value if isinstance(value, str) else ""

    def checked(self, name: str) -> bool:
        return self[name] in ("1", "on", "true", "yes")

    def as_dict(self) -> dict[str, str]:
        return {key: self[key] for key in self.data if key != "csrf_token"}


async def posted(request: Request, visit: Visitor) -> Fields | None:
    """The form's fields, or None when its CSRF token is missing or wrong."""
    fields = Fields(await request.form())
    if not visit.csrf_ok(fields["csrf_token"]):
        log.warning("web_csrf_refused", path=request.url.path)
        return None
    return fields


@dataclass(frozen=True)
class MemberPost:
    fields: Fields
    user: User


async def member_post(request: Request, visit: Visitor, back: str) -> MemberPost | Response:
    """A signed-in member's form post, or the answer to give instead: the refusal page when the
    CSRF token is missing or wrong, or the sign-in page, which comes back to `back` (a page,
    never the POST's own path)."""
    fields = await posted(request, visit)
    if fields is None:
        return refused(visit)
    if visit.user is None:
        return sign_in_first(visit, back)
    return MemberPost(fields, visit.user)


@asynccontextmanager
async def guarded(tx: Tx) -> AsyncIterator[None]:
    """Run a service call in a savepoint: if it raises an AppError that should not persist, its
    writes (and the jobs it queued) are undone and the page can still be rendered."""
    nested = await tx.session.begin_nested()
    try:
        yield
    except AppError as exc:
        if exc.persist:
            await nested.commit()
        else:
            await nested.rollback()
            tx.discard_after_commit()
        raise
    except ValidationError:
        await nested.rollback()
        raise
    else:
        await nested.commit()
