"""The reviews domain's errors: each a machine code, its docstring (when it happens, quoted by the
OpenAPI) and its default message."""

from __future__ import annotations

from app.core.errors import Conflict, Forbidden
from app.core.i18n import N_


class NotAParticipant(Forbidden):
    """A review by or of someone who is not the host or an approved guest of the meetup."""

    code = "not_a_participant"
    detail = N_("Only the host and the approved guests of a meetup review each other.")


class ReviewWindowClosed(Conflict):
    """The meetup has not ended, ended more than 30 days ago, or was cancelled (it never took
    place)."""

    code = "review_window_closed"
    detail = N_("Reviews open when the meetup has ended.")


class AlreadyReviewed(Conflict):
    """The caller already reviewed this person for this meetup, or this film (one review per
    user and film)."""

    code = "already_reviewed"
    detail = N_("You have already reviewed this person for this meetup.")
