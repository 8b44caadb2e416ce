"""Sessions with rotating refresh tokens: start, authenticate, refresh, end.

An access token names a user and a session; it counts while the session is live, the account is
active, and the token is not older than the account's cut-off (`User.tokens_valid_after`). Ending
every session of an account (password reset, deactivation, a reused refresh token) revokes the
rows and moves that cut-off, so no token issued before comes back to life.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock, security
from app.core.config import get_settings
from app.core.db import Tx
from app.core.errors import NotAuthenticated
from app.core.i18n import N_
from app.core.logging import get_logger
from app.core.security import TokenClaims
from app.models.auth import AuthSession
from app.models.users import User
from app.sessions.errors import TokenReused
from app.sessions.schemas import TokenPair

log = get_logger(__name__)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller and the session their access token names."""

    user: User
    session_id: uuid.UUID


# Built once: the lookup runs on every authenticated request, and a prebuilt statement skips
# SQLAlchemy's per-call construction (its compiled form and cache key are memoized on it).
_PRINCIPAL = (
    select(User)
    .join(AuthSession, col(AuthSession.user_id) == col(User.id))
    .where(
        col(AuthSession.id) == bindparam("session_id"),
        col(User.id) == bindparam("user_id"),
        col(AuthSession.revoked_at).is_(None),
        col(AuthSession.expires_at) > bindparam("now"),
        col(User.is_active).is_(True),
        col(User.tokens_valid_after).is_(None)
        | (col(User.tokens_valid_after) <= bindparam("issued_at")),
    )
)


async def principal_for(session: AsyncSession, claims: TokenClaims) -> Principal | None:
    """The user an access token names, in one query that also checks the session is live, the
    account active, and the token not older than the account's cut-off."""
    user = await session.scalar(
        _PRINCIPAL,
        {
            "session_id": claims.session_id,
            "user_id": claims.subject,
            "now": clock.now(),
            "issued_at": claims.issued_at,
        },
    )
    return Principal(user, claims.session_id) if user else None


def issue_pair(user: User, auth_session: AuthSession) -> TokenPair:
    """A fresh access and refresh token for `auth_session`; the refresh token's id is stored so
    that a second use of it is recognised."""
    settings = get_settings()
    access_lifetime = timedelta(minutes=settings.access_token_minutes)
    access, _ = security.issue_token(
        "access", user_id=user.id, session_id=auth_session.id, lifetime=access_lifetime
    )
    refresh_token, claims = security.issue_token(
        "refresh",
        user_id=user.id,
        session_id=auth_session.id,
        lifetime=timedelta(days=settings.refresh_token_days),
    )
    auth_session.refresh_jti = claims.jti
    auth_session.expires_at = claims.expires_at
    return TokenPair(
        access_token=access,
        refresh_token=refresh_token,
        expires_in=int(access_lifetime.total_seconds()),
    )


def start(tx: Tx, user: User) -> TokenPair:
    """A new session of `user` (whose credentials the caller checked)."""
    auth_session = AuthSession(user_id=user.id, refresh_jti="", expires_at=clock.now())
    tx.session.add(auth_session)
    pair = issue_pair(user, auth_session)
    log.info("login", user_id=str(user.id), session_id=str(auth_session.id))
    return pair


async def end_every_session(
    session: AsyncSession, user: User, *, keep: uuid.UUID | None = None
) -> None:
    """Revoke the sessions of `user` (all but `keep`, the caller's own, when given). Without
    `keep`, tokens issued before this second stop counting too, so nothing revoked revives."""
    now = clock.now()
    query = update(AuthSession).where(
        col(AuthSession.user_id) == user.id, col(AuthSession.revoked_at).is_(None)
    )
    if keep is not None:
        query = query.where(col(AuthSession.id) != keep)
    else:
        # Token `iat` has whole seconds; tokens from this second on stay valid (a fresh sign-in).
        user.tokens_valid_after = now.replace(microsecond=0)
    await session.execute(query.values(revoked_at=now))


async def refresh(tx: Tx, *, refresh_token: str) -> TokenPair:
    claims = security.decode_token(refresh_token, "refresh")
    if claims is None:
        raise NotAuthenticated(N_("The refresh token is invalid or expired."))
    auth_session = await tx.session.get(AuthSession, claims.session_id, with_for_update=True)
    if auth_session is None or auth_session.user_id != claims.subject:
        raise NotAuthenticated(N_("The refresh token is invalid or expired."))
    if auth_session.revoked_at is not None or auth_session.expires_at <= clock.now():
        raise NotAuthenticated(N_("This session has ended. Sign in again."))
    user = await tx.session.get(User, claims.subject)
    if user is None or not user.is_active:
        raise NotAuthenticated(N_("The refresh token is invalid or expired."))
    if user.tokens_valid_after and claims.issued_at < user.tokens_valid_after:
        raise NotAuthenticated(N_("This session has ended. Sign in again."))
    if claims.jti != auth_session.refresh_jti:
        # A spent token of this family came back: it was stolen, or the holder was. End everything.
        await end_every_session(tx.session, user)
        log.warning("refresh_token_reused", user_id=str(user.id), session_id=str(auth_session.id))
        raise TokenReused(persist=True)
    auth_session.refreshed_at = clock.now()
    return issue_pair(user, auth_session)


async def logout(tx: Tx, principal: Principal, *, refresh_token: str | None) -> None:
    """End the caller's session, and the one `refresh_token` names if it is the caller's."""
    ended = [principal.session_id]
    if refresh_token:
        claims = security.decode_token(refresh_token, "refresh")
        if claims is not None and claims.subject == principal.user.id:
            ended.append(claims.session_id)
    await tx.session.execute(
        update(AuthSession)
        .where(
            col(AuthSession.id).in_(ended),
            col(AuthSession.user_id) == principal.user.id,
            col(AuthSession.revoked_at).is_(None),
        )
        .values(revoked_at=clock.now())
    )
