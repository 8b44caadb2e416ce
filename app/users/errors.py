"""The users domain's errors: each a machine code, its docstring (when it happens, quoted by the
OpenAPI) and its default message."""

from __future__ import annotations

from app.core.errors import BadRequest
from app.core.i18n import N_


class CannotFollowSelf(BadRequest):
    """Following or unfollowing oneself."""

    code = "cannot_follow_self"
    detail = N_("You cannot follow yourself.")
