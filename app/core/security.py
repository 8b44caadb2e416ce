"""Passwords (passlib + argon2) and tokens (python-jose). The only module that imports either.

python-jose is configured defensively: HS256 only, with the algorithm list given explicitly on
decode, so a token naming `none` or an asymmetric algorithm is refused, and
`exp`, `sub`, `type` and `jti` are required.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from jose import JWTError, jwt
from passlib.context import CryptContext
from starlette.concurrency import run_in_threadpool

from app.core import clock
from app.core.config import get_settings

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]


@lru_cache
def _passwords() -> CryptContext:
    settings = get_settings()
    # Parameters come from settings so that tests can use cheap ones; when they change, hashes made
    # with the old ones are upgraded at the next successful login (verify_and_update).
    return CryptContext(
        schemes=["argon2"],
        argon2__memory_cost=settings.password_hash_memory_kib,
        argon2__time_cost=settings.password_hash_time_cost,
        argon2__parallelism=1,
    )


async def hash_password(password: str) -> str:
    """Argon2 costs tens of milliseconds of CPU: hashed in a thread, never on the event loop."""
    return await run_in_threadpool(_passwords().hash, password)


async def verify_password(password: str, password_hash: str) -> tuple[bool, str | None]:
    """(matches, new hash if the stored one used outdated parameters)."""
    return await run_in_threadpool(_passwords().verify_and_update, password, password_hash)


@lru_cache
def _dummy_hash() -> str:
    hashed: str = _passwords().hash(secrets.token_urlsafe(16))
    return hashed


async def burn_password_check(password: str) -> None:
    """Spend the time of a real check, so an unknown email answers as slowly as a known one."""
    await run_in_threadpool(_passwords().verify, password, _dummy_hash())


@dataclass(frozen=True)
class TokenClaims:
    subject: uuid.UUID
    session_id: uuid.UUID
    jti: str
    type: TokenType
    issued_at: datetime
    expires_at: datetime


def _encode(claims: dict[str, Any]) -> str:
    token: str = jwt.encode(claims, get_settings().secret_key, algorithm=ALGORITHM)
    return token


def issue_token(
    token_type: TokenType, *, user_id: uuid.UUID, session_id: uuid.UUID, lifetime: timedelta
) -> tuple[str, TokenClaims]:
    issued = clock.now().replace(microsecond=0)
    claims = TokenClaims(
        subject=user_id,
        session_id=session_id,
        jti=secrets.token_urlsafe(16),
        type=token_type,
        issued_at=issued,
        expires_at=issued + lifetime,
    )
    token = _encode(
        {
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": claims.jti,
            "type": token_type,
            "iat": int(issued.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        }
    )
    return token, claims


def decode_token(token: str, expected_type: TokenType) -> TokenClaims | None:
    """The claims of a well-formed, unexpired token of our own of the expected type, else None."""
    try:
        payload = jwt.decode(
            token,
            get_settings().secret_key,
            algorithms=[ALGORITHM],
            options={
                # exp is required by the lookup below and checked against the app clock; jose's
                # own require_exp would also check it against the wall clock.
                "require_exp": False,
                "require_iat": True,
                "require_sub": True,
                "require_jti": True,
                # Expiry against the app clock (below), so the tests' clock governs it too.
                "verify_exp": False,
            },
        )
        if payload.get("type") != expected_type:
            return None
        claims = TokenClaims(
            subject=uuid.UUID(payload["sub"]),
            session_id=uuid.UUID(payload["sid"]),
            jti=str(payload["jti"]),
            type=expected_type,
            issued_at=datetime.fromtimestamp(int(payload["iat"]), clock.now().tzinfo),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), clock.now().tzinfo),
        )
    except (JWTError, KeyError, ValueError, TypeError):
        return None
    if claims.expires_at <= clock.now():
        return None
    return claims


def digest(secret: str) -> str:
    """A keyed hash for stored one-time codes and tokens: without SECRET_KEY, a leaked table
    does not let anyone brute-force six digits offline."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def digests_match(secret: str, stored: str) -> bool:
    return hmac.compare_digest(digest(secret), stored)


def six_digit_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def url_token() -> str:
    return secrets.token_urlsafe(32)
