"""Short, unguessable codes for `/s/{code}` links (announcements and bookings)."""

from __future__ import annotations

import secrets

from app.core.config import get_settings

# 10 url-safe characters from 60 bits of randomness: unguessable, and short in an SMS or email.
CODE_BYTES = 8


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)[:10]


def short_url(code: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/s/{code}"
