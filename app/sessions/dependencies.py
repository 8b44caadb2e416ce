"""Who is calling: the bearer token's user (checked against PostgreSQL on every request) and roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.core import security
from app.core.db import Transaction
from app.core.errors import Forbidden, NotAuthenticated
from app.core.i18n import N_
from app.models.users import Role, User
from app.sessions import service as sessions_service
from app.sessions.service import Principal

BEARER_SCHEME = "OAuth2PasswordBearer"
_bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token", scheme_name=BEARER_SCHEME, auto_error=False
)


async def _principal(tx: Transaction, token: Annotated[str | None, Depends(_bearer)]) -> Principal:
    if not token:
        raise NotAuthenticated()
    claims = security.decode_token(token, "access")
    principal = await sessions_service.principal_for(tx.session, claims) if claims else None
    if principal is None:
        raise NotAuthenticated(N_("The access token is invalid, expired or revoked."))
    return principal


async def _optional_user(
    tx: Transaction, token: Annotated[str | None, Depends(_bearer)]
) -> User | None:
    """The caller if they sent a token, else None; a bad token is still a 401, not anonymity."""
    if not token:
        return None
    return (await _principal(tx, token)).user


async def _user(principal: Annotated[Principal, Depends(_principal)]) -> User:
    return principal.user


CurrentPrincipal = Annotated[Principal, Depends(_principal)]
CurrentUser = Annotated[User, Depends(_user)]
OptionalUser = Annotated[User | None, Depends(_optional_user)]


def bearer_use(calls: Collection[Callable[..., Any]]) -> Literal["required", "optional", "none"]:
    """How a route whose dependencies are `calls` uses the bearer token, for its OpenAPI
    `security`: required (CurrentUser, CurrentPrincipal, a role), optional (OptionalUser) or
    not read (FastAPI would say "required" for the optional one too)."""
    if _principal in calls:
        return "required"
    if _optional_user in calls:
        return "optional"
    return "none"


def require_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets through only callers with one of `roles` (admins always)."""
    allowed = {*roles, Role.admin}

    async def dependency(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden(N_("Your role does not allow this."))
        return user

    return dependency


AdminUser = Annotated[User, Depends(require_role(Role.admin))]
ModeratorUser = Annotated[User, Depends(require_role(Role.moderator))]


async def client_ip(request: Request) -> str:
    """The caller's address (uvicorn applies X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


ClientIP = Annotated[str, Depends(client_ip)]
