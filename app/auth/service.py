"""Sign-up, email confirmation, sign-in, password change and reset (sessions: app/sessions)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from app.auth.errors import (
    AccountDisabled,
    EmailNotConfirmed,
    EmailTaken,
    InvalidCode,
    InvalidCredentials,
    InvalidToken,
    WrongPassword,
)
from app.core import clock, i18n, ratelimit, security
from app.core.config import get_settings
from app.core.db import Tx
from app.core.logging import get_logger
from app.mail import service as mail
from app.models.auth import CodePurpose, OneTimeCode
from app.models.users import User
from app.sessions import service as sessions
from app.sessions.schemas import TokenPair
from app.sessions.service import Principal
from app.users import service as users_service

log = get_logger(__name__)

CONFIRMATION_CODE_TTL = timedelta(hours=24)
RESET_TOKEN_TTL = timedelta(hours=1)
MAX_CODE_ATTEMPTS = 5


def _identity(value: str) -> str:
    # Rate-limit keys name accounts by a hash: no emails in Redis keys or in the logs about them.
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:24]


# --- registration and confirmation ---------------------------------------------------------------


async def _new_code(tx: Tx, user: User, purpose: CodePurpose, secret: str, ttl: timedelta) -> None:
    """Store a fresh code (keyed hash) and spend the user's older ones of the same purpose."""
    await tx.session.execute(
        update(OneTimeCode)
        .where(
            col(OneTimeCode.user_id) == user.id,
            col(OneTimeCode.purpose) == purpose,
            col(OneTimeCode.used_at).is_(None),
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
        locale=user.locale,
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


async def register(
    tx: Tx, *, email: str, password: str, name: str, ip: str, locale: str = i18n.DEFAULT
) -> User:
    await _limit_auth_request(tx, ip, "register")
    if await users_service.find_user_by_email(tx.session, email):
        raise EmailTaken()
    user = User(
        email=email.strip(),
        name=name,
        password_hash=await security.hash_password(password),
        locale=i18n.normalize(locale),
    )
    tx.session.add(user)
    try:
        await tx.session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise EmailTaken() from exc
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
            col(OneTimeCode.user_id) == user.id,
            col(OneTimeCode.purpose) == purpose,
            col(OneTimeCode.used_at).is_(None),
            col(OneTimeCode.expires_at) > clock.now(),
        )
        .order_by(col(OneTimeCode.created_at).desc())
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
        raise InvalidCode(persist=True)
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
        raise InvalidCredentials()
    if new_hash:
        user.password_hash = new_hash  # the hashing parameters changed since it was stored
    if not user.is_active:
        raise AccountDisabled()
    if not user.is_confirmed:
        raise EmailNotConfirmed()
    return sessions.start(tx, user)


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
        raise WrongPassword()
    user.password_hash = await security.hash_password(new_password)
    await sessions.end_every_session(tx.session, user, keep=principal.session_id)
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
        locale=user.locale,
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
            col(OneTimeCode.code_hash) == security.digest(token),
            col(OneTimeCode.purpose) == CodePurpose.reset_password,
            col(OneTimeCode.used_at).is_(None),
            col(OneTimeCode.expires_at) > clock.now(),
        )
        .with_for_update()
    )
    user = await tx.session.get(User, code.user_id) if code else None
    if code is None or user is None or not user.is_active:
        raise InvalidToken()
    code.used_at = clock.now()
    user.password_hash = await security.hash_password(new_password)
    user.is_confirmed = True  # following the emailed link proved the address
    await sessions.end_every_session(tx.session, user)
    log.info("password_reset", user_id=str(user.id))
