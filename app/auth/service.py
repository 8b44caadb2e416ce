"""Sign-up, email confirmation, sessions with rotating refresh tokens, password change and reset."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import AuthSession, CodePurpose, OneTimeCode
from app.auth.schemas import TokenPair
from app.core import clock, ratelimit, security
from app.core.config import get_settings
from app.core.db import Tx
from app.core.errors import BadRequest, Conflict, Forbidden, NotAuthenticated
from app.core.logging import get_logger
from app.core.security import TokenClaims
from app.mail import service as mail
from app.users import service as users_service
from app.users.models import User

log = get_logger(__name__)

CONFIRMATION_CODE_TTL = timedelta(hours=24)
RESET_TOKEN_TTL = timedelta(hours=1)
MAX_CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class Principal:
    """The authenticated caller and the session their access token names."""

    user: User
    session_id: uuid.UUID


def _identity(value: str) -> str:
    # Rate-limit keys name accounts by a hash: no emails in Redis keys or in the logs about them.
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:24]


# --- access tokens -------------------------------------------------------------------------------


# Built once: the lookup runs on every authenticated request, and a prebuilt statement skips
# SQLAlchemy's per-call construction (its compiled form and cache key are memoized on it).
_PRINCIPAL = (
    select(User)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(
        AuthSession.id == bindparam("session_id"),
        User.id == bindparam("user_id"),
        AuthSession.revoked_at.is_(None),  # type: ignore[union-attr]
        AuthSession.expires_at > bindparam("now"),
        User.is_active.is_(True),  # type: ignore[attr-defined]
        (User.tokens_valid_after.is_(None)) | (User.tokens_valid_after <= bindparam("issued_at")),  # type: ignore[union-attr,operator]
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


def _issue_pair(user: User, auth_session: AuthSession) -> TokenPair:
    settings = get_settings()
    access_lifetime = timedelta(minutes=settings.access_token_minutes)
    access, _ = security.issue_token(
        "access", user_id=user.id, session_id=auth_session.id, lifetime=access_lifetime
    )
    refresh, claims = security.issue_token(
        "refresh",
        user_id=user.id,
        session_id=auth_session.id,
        lifetime=timedelta(days=settings.refresh_token_days),
    )
    auth_session.refresh_jti = claims.jti
    auth_session.expires_at = claims.expires_at
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=int(access_lifetime.total_seconds()),
    )


def _cutoff() -> datetime:
    # Token `iat` has whole seconds; tokens from this second on stay valid, older ones do not.
    return clock.now().replace(microsecond=0)


async def _revoke_sessions(
    session: AsyncSession, user_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> None:
    query = update(AuthSession).where(
        AuthSession.user_id == user_id,
        AuthSession.revoked_at.is_(None),  # type: ignore[union-attr]
    )
    if keep is not None:
        query = query.where(AuthSession.id != keep)
    await session.execute(query.values(revoked_at=clock.now()))


# --- registration and confirmation ---------------------------------------------------------------


async def _new_code(tx: Tx, user: User, purpose: CodePurpose, secret: str, ttl: timedelta) -> None:
    """Store a fresh code (keyed hash) and spend the user's older ones of the same purpose."""
    await tx.session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.user_id == user.id,
            OneTimeCode.purpose == purpose,
            OneTimeCode.used_at.is_(None),  # type: ignore[union-attr]
        )
        .values(used_at=clock.now())
    )
    tx.session.add(
        OneTimeCode(
            user_id=user.id,
            purpose=purpose,
            code_hash=security.digest(secret),
            expires_at=clock.now() + ttl,
        )
    )


async def _send_confirmation(tx: Tx, user: User) -> None:
    code = security.six_digit_code()
    await _new_code(tx, user, CodePurpose.confirm_email, code, CONFIRMATION_CODE_TTL)
    await mail.queue_email(
        tx,
        to=user.email,
        template="confirm_email",
        sensitive=True,
        name=user.name,
        code=code,
        hours=int(CONFIRMATION_CODE_TTL.total_seconds() // 3600),
    )


async def _limit_auth_request(
    tx: Tx, ip: str, route: str, *, email: str | None = None, fail_closed: bool = False
) -> None:
    """RATE_LIMIT_AUTH per IP (and per account when `email` is given): the slot is taken before
    any work, atomically for both keys, so simultaneous requests cannot pass the limit."""
    if tx.redis is None:
        return
    keys = [f"auth:{route}:ip:{ip}"]
    if email is not None:
        keys.append(f"auth:{route}:account:{_identity(email)}")
    rate = ratelimit.Rate.parse(get_settings().rate_limit_auth)
    await ratelimit.reserve(tx.redis, keys, rate, fail_closed=fail_closed)


async def register(tx: Tx, *, email: str, password: str, name: str, ip: str) -> User:
    await _limit_auth_request(tx, ip, "register")
    if await users_service.find_user_by_email(tx.session, email):
        raise Conflict("An account with this email already exists.", code="email_taken")
    user = User(
        email=email.strip(), name=name, password_hash=await security.hash_password(password)
    )
    tx.session.add(user)
    try:
        await tx.session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise Conflict("An account with this email already exists.", code="email_taken") from exc
    await _send_confirmation(tx, user)
    log.info("user_registered", user_id=str(user.id))
    return user


async def _spend_code(
    tx: Tx, user: User | None, purpose: CodePurpose, secret: str
) -> OneTimeCode | None:
    """The user's live code of `purpose` if `secret` matches it; a miss counts as a try."""
    if user is None:
        return None
    code = await tx.session.scalar(
        select(OneTimeCode)
        .where(
            OneTimeCode.user_id == user.id,
            OneTimeCode.purpose == purpose,
            OneTimeCode.used_at.is_(None),  # type: ignore[union-attr]
            OneTimeCode.expires_at > clock.now(),
        )
        .order_by(OneTimeCode.created_at.desc())  # type: ignore[attr-defined]
        .limit(1)
        .with_for_update()
    )
    if code is None or code.attempts >= MAX_CODE_ATTEMPTS:
        return None
    if not security.digests_match(secret, code.code_hash):
        code.attempts += 1
        return None
    code.used_at = clock.now()
    return code


async def confirm_email(tx: Tx, *, email: str, code: str, ip: str) -> User:
    await _limit_auth_request(tx, ip, "confirm", email=email)
    user = await users_service.find_user_by_email(tx.session, email)
    if await _spend_code(tx, user, CodePurpose.confirm_email, code) is None or user is None:
        # persist: the failed try must count even though the request fails.
        raise BadRequest("The code is wrong or has expired.", code="invalid_code", persist=True)
    user.is_confirmed = True
    log.info("email_confirmed", user_id=str(user.id))
    return user


async def resend_confirmation(tx: Tx, *, email: str, ip: str) -> None:
    await _limit_auth_request(tx, ip, "resend", email=email)
    user = await users_service.find_user_by_email(tx.session, email)
    if user is not None and user.is_active and not user.is_confirmed:
        await _send_confirmation(tx, user)


# --- sessions ------------------------------------------------------------------------------------


@dataclass
class _Attempt:
    right: bool = False  # set once the password proved right


@asynccontextmanager
async def _password_attempt(tx: Tx, keys: list[str]) -> AsyncIterator[_Attempt]:
    """RATE_LIMIT_LOGIN around one password check. A slot under every key is reserved before
    the (slow) hash, so simultaneous guesses cannot outrun the limit, and given back only if the
    password proved right: wrong ones (and checks that broke off) use up the budget.
    Redis down means no check at all (fail closed: no unthrottled guessing)."""
    attempt = _Attempt()
    reservation = None
    if tx.redis is not None:
        rate = ratelimit.Rate.parse(get_settings().rate_limit_login)
        reservation = await ratelimit.reserve(tx.redis, keys, rate, fail_closed=True)
    try:
        yield attempt
    finally:
        if tx.redis is not None and attempt.right:
            await ratelimit.release(tx.redis, reservation)


def _account_key(email: str) -> str:
    return f"login:account:{_identity(email)}"


async def login(tx: Tx, *, email: str, password: str, ip: str) -> TokenPair:
    async with _password_attempt(tx, [f"login:ip:{ip}", _account_key(email)]) as attempt:
        user = await users_service.find_user_by_email(tx.session, email)
        if user is None:
            await security.burn_password_check(password)
            matches, new_hash = False, None
        else:
            matches, new_hash = await security.verify_password(password, user.password_hash)
        attempt.right = matches and user is not None
    if not matches or user is None:
        raise NotAuthenticated("Wrong email or password.", code="invalid_credentials")
    if new_hash:
        user.password_hash = new_hash  # the hashing parameters changed since it was stored
    if not user.is_active:
        raise Forbidden("This account has been deactivated.", code="account_disabled")
    if not user.is_confirmed:
        raise Forbidden(
            "Confirm your email first: enter the code we sent you (or ask for a new one).",
            code="email_not_confirmed",
        )
    auth_session = AuthSession(user_id=user.id, refresh_jti="", expires_at=clock.now())
    tx.session.add(auth_session)
    pair = _issue_pair(user, auth_session)
    log.info("login", user_id=str(user.id), session_id=str(auth_session.id))
    return pair


async def refresh(tx: Tx, *, refresh_token: str) -> TokenPair:
    claims = security.decode_token(refresh_token, "refresh")
    if claims is None:
        raise NotAuthenticated("The refresh token is invalid or expired.")
    auth_session = await tx.session.get(AuthSession, claims.session_id, with_for_update=True)
    if auth_session is None or auth_session.user_id != claims.subject:
        raise NotAuthenticated("The refresh token is invalid or expired.")
    if auth_session.revoked_at is not None or auth_session.expires_at <= clock.now():
        raise NotAuthenticated("This session has ended. Sign in again.")
    user = await tx.session.get(User, claims.subject)
    if user is None or not user.is_active:
        raise NotAuthenticated("The refresh token is invalid or expired.")
    if user.tokens_valid_after and claims.issued_at < user.tokens_valid_after:
        raise NotAuthenticated("This session has ended. Sign in again.")
    if claims.jti != auth_session.refresh_jti:
        # A spent token of this family came back: it was stolen, or the holder was. End everything.
        await _revoke_sessions(tx.session, user.id)
        user.tokens_valid_after = _cutoff()
        log.warning("refresh_token_reused", user_id=str(user.id), session_id=str(auth_session.id))
        raise NotAuthenticated(
            "This refresh token was already used. Every session of this account has been ended; "
            "sign in again.",
            code="token_reused",
            persist=True,
        )
    auth_session.refreshed_at = clock.now()
    return _issue_pair(user, auth_session)


async def logout(tx: Tx, principal: Principal, *, refresh_token: str | None) -> None:
    ended = [principal.session_id]
    if refresh_token:
        claims = security.decode_token(refresh_token, "refresh")
        if claims is not None and claims.subject == principal.user.id:
            ended.append(claims.session_id)
    await tx.session.execute(
        update(AuthSession)
        .where(
            AuthSession.id.in_(ended),  # type: ignore[attr-defined]
            AuthSession.user_id == principal.user.id,
            AuthSession.revoked_at.is_(None),  # type: ignore[union-attr]
        )
        .values(revoked_at=clock.now())
    )


# --- passwords -----------------------------------------------------------------------------------


async def change_password(
    tx: Tx, principal: Principal, *, current_password: str, new_password: str
) -> None:
    user = principal.user
    # A wrong current password is a password guess (a stolen access token would otherwise be an
    # unlimited oracle): it uses the account's sign-in budget, and a locked account is refused.
    async with _password_attempt(tx, [_account_key(user.email)]) as attempt:
        matches, _ = await security.verify_password(current_password, user.password_hash)
        attempt.right = matches
    if not matches:
        raise BadRequest("The current password is wrong.", code="wrong_password")
    user.password_hash = await security.hash_password(new_password)
    await _revoke_sessions(tx.session, user.id, keep=principal.session_id)
    log.info("password_changed", user_id=str(user.id))


async def forgot_password(tx: Tx, *, email: str, ip: str) -> None:
    await _limit_auth_request(tx, ip, "forgot", email=email)
    user = await users_service.find_user_by_email(tx.session, email)
    if user is None or not user.is_active:
        return
    token = security.url_token()
    await _new_code(tx, user, CodePurpose.reset_password, token, RESET_TOKEN_TTL)
    await mail.queue_email(
        tx,
        to=user.email,
        template="password_reset",
        sensitive=True,
        name=user.name,
        token=token,
        api_url=f"{get_settings().public_base_url.rstrip('/')}/api/v1/auth/password/reset",
    )


async def reset_password(tx: Tx, *, token: str, new_password: str, ip: str) -> None:
    await _limit_auth_request(tx, ip, "reset", fail_closed=True)
    code = await tx.session.scalar(
        select(OneTimeCode)
        .where(
            OneTimeCode.code_hash == security.digest(token),
            OneTimeCode.purpose == CodePurpose.reset_password,
            OneTimeCode.used_at.is_(None),  # type: ignore[union-attr]
            OneTimeCode.expires_at > clock.now(),
        )
        .with_for_update()
    )
    user = await tx.session.get(User, code.user_id) if code else None
    if code is None or user is None or not user.is_active:
        raise BadRequest("The reset token is invalid, used or expired.", code="invalid_token")
    code.used_at = clock.now()
    user.password_hash = await security.hash_password(new_password)
    user.is_confirmed = True  # following the emailed link proved the address
    user.tokens_valid_after = _cutoff()
    await _revoke_sessions(tx.session, user.id)
    log.info("password_reset", user_id=str(user.id))
