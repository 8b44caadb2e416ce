"""The sessions domain's errors: each a machine code, its docstring (when it happens, quoted by
the OpenAPI) and its default message."""

from __future__ import annotations

from app.core.errors import NotAuthenticated
from app.core.i18n import N_


class TokenReused(NotAuthenticated):
    """A spent refresh token came back: every session of that account is ended."""

    code = "token_reused"
    detail = N_(
        "This refresh token was already used. Every session of this account has been ended; "
        "sign in again."
    )
