"""The auth domain's errors: each a machine code, its docstring (when it happens, quoted by the
OpenAPI) and its default message."""

from __future__ import annotations

from app.core.errors import BadRequest, Conflict, Forbidden, NotAuthenticated
from app.core.i18n import N_


class EmailTaken(Conflict):
    """Registering an email (any case) that already has an account."""

    code = "email_taken"
    detail = N_("An account with this email already exists.")


class InvalidCode(BadRequest):
    """The confirmation code is wrong, expired (24 h) or used up (5 wrong tries)."""

    code = "invalid_code"
    detail = N_("The code is wrong or has expired.")


class InvalidToken(BadRequest):
    """The password reset token is wrong, used or expired (1 h)."""

    code = "invalid_token"
    detail = N_("The reset token is invalid, used or expired.")


class WrongPassword(BadRequest):
    """Changing the password with a wrong current password."""

    code = "wrong_password"
    detail = N_("The current password is wrong.")


class InvalidCredentials(NotAuthenticated):
    """Signing in with a wrong email or password."""

    code = "invalid_credentials"
    detail = N_("Wrong email or password.")


class AccountDisabled(Forbidden):
    """Signing in to a deactivated account (after a right password)."""

    code = "account_disabled"
    detail = N_("This account has been deactivated.")


class EmailNotConfirmed(Forbidden):
    """Signing in before the email address was confirmed."""

    code = "email_not_confirmed"
    detail = N_("Confirm your email first: enter the code we sent you (or ask for a new one).")
