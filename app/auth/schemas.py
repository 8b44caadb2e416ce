"""Request and response bodies of the auth routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.core.validation import SINGLE_LINE

# A password may hold any printable character (spaces included), but no control character.
Password = Annotated[str, Field(min_length=8, max_length=128), SINGLE_LINE]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{6}$")]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), SINGLE_LINE
]
# Tokens are ASCII: a control character in one is refused before any lookup.
Token = Annotated[str, Field(min_length=1, max_length=2048), SINGLE_LINE]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterRequest(_Body):
    email: EmailStr
    password: Password
    name: Name


class ConfirmRequest(_Body):
    email: EmailStr
    code: Code


class EmailRequest(_Body):
    email: EmailStr


class LoginRequest(_Body):
    email: EmailStr
    # Any character an account's password may once have had: it is only compared.
    password: Annotated[str, Field(min_length=1, max_length=128)]


class RefreshRequest(_Body):
    refresh_token: Token


class LogoutRequest(_Body):
    refresh_token: Token | None = None


class PasswordChangeRequest(_Body):
    current_password: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: Password


class PasswordResetRequest(_Body):
    token: Annotated[str, Field(min_length=1, max_length=256), SINGLE_LINE]
    new_password: Password


class TokenForm(BaseModel):
    """The OAuth2 password grant as a form (`application/x-www-form-urlencoded`), for Swagger's
    Authorize button: `username` is the email. `scope`, `client_id` and `client_secret` are
    accepted and ignored."""

    grant_type: Annotated[str | None, Field(pattern="^password$")] = None
    username: str = Field(description="The account's email")
    password: Annotated[str, Field(json_schema_extra={"format": "password"})]
    scope: str = ""
    client_id: str | None = None
    client_secret: Annotated[str | None, Field(json_schema_extra={"format": "password"})] = None


class Accepted(BaseModel):
    detail: str
