"""The mail domain's errors."""

from __future__ import annotations

from app.core.errors import Conflict
from app.core.i18n import N_


class EmailNotFailed(Conflict):
    """Sending again an email that has not failed for good (it is sent, or still being tried)."""

    code = "email_not_failed"
    detail = N_("Only an email that failed for good can be sent again.")
