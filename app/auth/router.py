"""/api/v1/auth: sign-up, confirmation, tokens, logout, the caller's account, passwords."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from app.auth import service
from app.auth.errors import (
    AccountDisabled,
    EmailNotConfirmed,
    EmailTaken,
    InvalidCode,
    InvalidCredentials,
    InvalidToken,
    WrongPassword,
)
from app.auth.schemas import (
    Accepted,
    ConfirmRequest,
    EmailRequest,
    LoginRequest,
    LogoutRequest,
    PasswordChangeRequest,
    PasswordResetRequest,
    RefreshRequest,
    RegisterRequest,
    TokenForm,
)
from app.core.db import Transaction
from app.core.errors import NotAuthenticated, RateLimited, RateLimiterUnavailable, errors
from app.core.i18n import RequestLocale
from app.sessions import service as sessions
from app.sessions.dependencies import ClientIP, CurrentPrincipal, CurrentUser
from app.sessions.errors import TokenReused
from app.sessions.schemas import TokenPair
from app.users.schemas import UserPrivate

router = APIRouter(prefix="/auth", tags=["auth"])

ACCEPTED = Accepted(detail="If the address belongs to an account, an email is on its way.")

SIGN_IN_ERRORS = errors(
    InvalidCredentials, AccountDisabled, EmailNotConfirmed, RateLimited, RateLimiterUnavailable
)


@router.post(
    "/register",
    status_code=201,
    response_model=UserPrivate,
    responses=errors(EmailTaken, RateLimited),
)
async def register(
    body: RegisterRequest, tx: Transaction, ip: ClientIP, locale: RequestLocale
) -> UserPrivate:
    """Create an account; a 6-digit confirmation code is emailed. The account's `locale` (the
    language of its emails and notifications) is the best match of `Accept-Language`."""
    user = await service.register(
        tx, email=str(body.email), password=body.password, name=body.name, ip=ip, locale=locale
    )
    return UserPrivate.of(user)


@router.post("/confirm", response_model=UserPrivate, responses=errors(InvalidCode, RateLimited))
async def confirm_email(body: ConfirmRequest, tx: Transaction, ip: ClientIP) -> UserPrivate:
    """Confirm the email address with the emailed code (5 tries per code)."""
    user = await service.confirm_email(tx, email=str(body.email), code=body.code, ip=ip)
    return UserPrivate.of(user)


@router.post(
    "/confirm/resend", status_code=202, response_model=Accepted, responses=errors(RateLimited)
)
async def resend_confirmation(body: EmailRequest, tx: Transaction, ip: ClientIP) -> Accepted:
    """Email a new confirmation code (always 202: no account enumeration)."""
    await service.resend_confirmation(tx, email=str(body.email), ip=ip)
    return ACCEPTED


@router.post(
    "/login",
    response_model=TokenPair,
    responses=SIGN_IN_ERRORS,
)
async def login(body: LoginRequest, tx: Transaction, ip: ClientIP) -> TokenPair:
    """Sign in with email and password; returns an access and a refresh token."""
    return await service.login(tx, email=str(body.email), password=body.password, ip=ip)


_email = TypeAdapter(EmailStr)


@router.post(
    "/token",
    response_model=TokenPair,
    responses=SIGN_IN_ERRORS,
)
async def login_with_form(
    form: Annotated[TokenForm, Form()], tx: Transaction, ip: ClientIP
) -> TokenPair:
    """OAuth2 password flow (form fields `username` = email, `password`), for Swagger's Authorize."""
    try:
        email = _email.validate_python(form.username)
    except ValidationError as exc:
        raise InvalidCredentials() from exc
    return await service.login(tx, email=str(email), password=form.password, ip=ip)


@router.post("/refresh", response_model=TokenPair, responses=errors(NotAuthenticated, TokenReused))
async def refresh_tokens(body: RefreshRequest, tx: Transaction) -> TokenPair:
    """Trade a refresh token for a new pair; the old refresh token is spent."""
    return await sessions.refresh(tx, refresh_token=body.refresh_token)


@router.post("/logout", status_code=204, responses=errors(NotAuthenticated))
async def logout(
    principal: CurrentPrincipal, tx: Transaction, body: LogoutRequest | None = None
) -> Response:
    """End this session: its access and refresh tokens stop working at once."""
    await sessions.logout(tx, principal, refresh_token=body.refresh_token if body else None)
    return Response(status_code=204)


@router.get("/me", response_model=UserPrivate, responses=errors(NotAuthenticated))
async def get_me(user: CurrentUser) -> UserPrivate:
    """The caller's own account."""
    return UserPrivate.of(user)


@router.post(
    "/password/change",
    status_code=204,
    responses=errors(WrongPassword, NotAuthenticated, RateLimited, RateLimiterUnavailable),
)
async def change_password(
    body: PasswordChangeRequest, principal: CurrentPrincipal, tx: Transaction
) -> Response:
    """Change the password; every other session ends. A wrong current password counts like a
    failed sign-in of the account (RATE_LIMIT_LOGIN): over the limit it is 429."""
    await service.change_password(
        tx, principal, current_password=body.current_password, new_password=body.new_password
    )
    return Response(status_code=204)


@router.post(
    "/password/forgot", status_code=202, response_model=Accepted, responses=errors(RateLimited)
)
async def forgot_password(body: EmailRequest, tx: Transaction, ip: ClientIP) -> Accepted:
    """Email a single-use reset token valid for 1 h (always 202)."""
    await service.forgot_password(tx, email=str(body.email), ip=ip)
    return ACCEPTED


@router.post(
    "/password/reset",
    status_code=204,
    responses=errors(InvalidToken, RateLimited, RateLimiterUnavailable),
)
async def reset_password(body: PasswordResetRequest, tx: Transaction, ip: ClientIP) -> Response:
    """Set a new password with the emailed token; every session ends."""
    await service.reset_password(tx, token=body.token, new_password=body.new_password, ip=ip)
    return Response(status_code=204)
