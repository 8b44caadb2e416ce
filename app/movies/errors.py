"""The movies domain's errors: each a machine code, its docstring (when it happens, quoted by the
OpenAPI) and its default message."""

from __future__ import annotations

from app.core.errors import BadRequest, Conflict
from app.core.i18n import N_


class DuplicateMovie(Conflict):
    """The catalog has a movie of the same title (any case) and year (an unknown year equals an
    unknown year)."""

    code = "duplicate_movie"
    detail = N_("The catalog already has this movie.")


class CannotLikeOwn(BadRequest):
    """A user likes (or unlikes) their own film review."""

    code = "cannot_like_own"
    detail = N_("You cannot like your own review.")
