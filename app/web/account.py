"""Account pages: sign-up, confirmation, sign-in and out, password reset, and /me."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.announcements import queries as announcement_queries
from app.announcements.dependencies import AnnouncementFilters, Sort
from app.auth import service as auth_service
from app.auth.schemas import PasswordResetRequest, RegisterRequest
from app.bookings import queries as booking_queries
from app.core.db import Transaction
from app.core.errors import AppError
from app.core.pagination import PageParams
from app.models.announcements import AnnouncementStatus
from app.models.bookings import BookingStatus
from app.notifications import service as notifications_service
from app.sessions import service as sessions_service
from app.sessions.cookies import principal_of
from app.sessions.dependencies import ClientIP
from app.users import service as users_service
from app.users.schemas import UserUpdate
from app.web import render
from app.web.forms import guarded, member_post, posted
from app.web.render import (
    form_again,
    invalid,
    page,
    problem,
    redirect,
    refused,
    safe_next,
    sign_in_first,
)
from app.web.session import Visit, session_token

router = APIRouter(include_in_schema=False)


# --- sign-up and confirmation ----------------------------------------------------------------------


@router.get("/signup")
async def signup_form(visit: Visit) -> Response:
    return page(visit, "signup.html", form={})


@router.post("/signup")
async def signup(request: Request, visit: Visit, tx: Transaction, ip: ClientIP) -> Response:
    fields = await posted(request, visit)
    if fields is None:
        return refused(visit)
    form = {"email": fields["email"], "name": fields["name"]}
    try:
        body = RegisterRequest(
            email=fields["email"], password=fields.raw("password"), name=fields["name"]
        )
        async with guarded(tx):
            await auth_service.register(
                tx, email=str(body.email), password=body.password, name=body.name, ip=ip
            )
    except (ValidationError, AppError) as exc:
        return form_again(visit, "signup.html", exc, form=form)
    return redirect(visit, "/confirm?" + urlencode({"email": str(body.email)}))


@router.get("/confirm")
async def confirm_form(visit: Visit, email: str = "") -> Response:
    return page(visit, "confirm.html", email=email[:320])


@router.post("/confirm")
async def confirm(request: Request, visit: Visit, tx: Transaction, ip: ClientIP) -> Response:
    fields = await posted(request, visit)
    if fields is None:
        return refused(visit)
    email, code = fields["email"][:320], fields["code"][:12]
    try:
        async with guarded(tx):
            if fields["resend"]:
                await auth_service.resend_confirmation(tx, email=email, ip=ip)
            else:
                await auth_service.confirm_email(tx, email=email, code=code, ip=ip)
    except AppError as exc:
        return page(
            visit, "confirm.html", exc.status_code, email=email, error=visit.error_text(exc)
        )
    if fields["resend"]:
        return page(visit, "confirm.html", email=email, notice="resent")
    return redirect(visit, "/login?" + urlencode({"email": email, "confirmed": "1"}))


# --- sign-in and out -------------------------------------------------------------------------------


@router.get("/login")
async def login_form(
    visit: Visit, email: str = "", confirmed: str = "", reset: str = "", next: str = ""
) -> Response:
    return page(
        visit,
        "login.html",
        email=email[:320],
        confirmed=bool(confirmed),
        reset=bool(reset),
        next=safe_next(next, ""),
    )


@router.post("/login")
async def login(request: Request, visit: Visit, tx: Transaction, ip: ClientIP) -> Response:
    fields = await posted(request, visit)
    if fields is None:
        return refused(visit)
    email, password = fields["email"][:320], fields.raw("password")[:128]
    target = safe_next(fields["next"], "/me")
    try:
        async with guarded(tx):
            # The API's own sign-in: the same password check, rate limits and account rules.
            pair = await auth_service.login(tx, email=email, password=password, ip=ip)
    except AppError as exc:
        response = page(
            visit,
            "login.html",
            exc.status_code,
            email=email,
            error=visit.error_text(exc),
            next=target,
        )
        if "Retry-After" in exc.headers:
            response.headers["Retry-After"] = exc.headers["Retry-After"]
        return response
    principal = await principal_of(tx, pair.access_token)
    if principal is None:  # pragma: no cover - the session was just made
        return page(visit, "login.html", 401, email=email, next=target)
    token, max_age = session_token(principal)
    response = redirect(visit, target)
    render.set_session(visit, response, token, max_age)
    return response


@router.post("/logout")
async def logout(request: Request, visit: Visit, tx: Transaction) -> Response:
    """End the session (its AuthSession is revoked, so the cookie stops working everywhere)."""
    fields = await posted(request, visit)
    if fields is None:
        return refused(visit)
    if visit.principal is not None:
        await sessions_service.logout(tx, visit.principal, refresh_token=None)
    response = redirect(visit, "/")
    render.clear_session(response)
    return response


# --- password reset --------------------------------------------------------------------------------


@router.get("/password/forgot")
async def forgot_form(visit: Visit) -> Response:
    return page(visit, "forgot.html")


@router.post("/password/forgot")
async def forgot(request: Request, visit: Visit, tx: Transaction, ip: ClientIP) -> Response:
    fields = await posted(request, visit)
    if fields is None:
        return refused(visit)
    try:
        async with guarded(tx):
            await auth_service.forgot_password(tx, email=fields["email"][:320], ip=ip)
    except AppError as exc:
        return page(visit, "forgot.html", exc.status_code, error=visit.error_text(exc))
    return page(visit, "forgot.html", sent=True)


@router.get("/password/reset")
async def reset_form(visit: Visit, token: str = "") -> Response:
    return page(visit, "reset.html", token=token[:512])


@router.post("/password/reset")
async def reset(request: Request, visit: Visit, tx: Transaction, ip: ClientIP) -> Response:
    fields = await posted(request, visit)
    if fields is None:
        return refused(visit)
    token, password = fields["token"][:512], fields.raw("password")
    try:
        body = PasswordResetRequest(token=token, new_password=password)
        async with guarded(tx):
            await auth_service.reset_password(
                tx, token=body.token, new_password=body.new_password, ip=ip
            )
    except (ValidationError, AppError) as exc:
        return form_again(visit, "reset.html", exc, token=token)
    response = redirect(visit, "/login?reset=1")
    render.clear_session(response)
    return response


# --- my page ---------------------------------------------------------------------------------------

MY_BOOKINGS = PageParams(limit=100)


@router.get("/me")
async def me(visit: Visit, tx: Transaction, saved: str = "") -> Response:
    user = visit.user
    if user is None:
        return sign_in_first(visit)
    bookings, _ = await booking_queries.list_bookings(
        tx.session, page=MY_BOOKINGS, guest_id=user.id
    )
    by_status = {status: [b for b in bookings if b.status == status] for status in BookingStatus}
    hosted, _ = await announcement_queries.list_announcements(
        tx.session,
        AnnouncementFilters(
            author_id=user.id, statuses=list(AnnouncementStatus), sort=Sort.event_time_desc
        ),
        PageParams(limit=50),
    )
    notifications, _, unread = await notifications_service.list_notifications(
        tx.session, user, unread=None, page=PageParams(limit=30)
    )
    return page(
        visit,
        "me.html",
        bookings_by_status={s: items for s, items in by_status.items() if items},
        hosted=hosted,
        notifications=notifications,
        unread=unread,
        saved=bool(saved),
    )


@router.post("/me/settings")
async def save_settings(request: Request, visit: Visit, tx: Transaction) -> Response:
    post = await member_post(request, visit, "/me")
    if isinstance(post, Response):
        return post
    fields = post.fields
    try:
        data = UserUpdate(
            name=fields["name"],
            bio=fields.raw("bio").replace("\r\n", "\n"),
            email_notifications=fields.checked("email_notifications"),
        )
        async with guarded(tx):
            await users_service.update_me(tx, post.user, data)
    except ValidationError as exc:
        return invalid(visit, exc)
    except AppError as exc:
        return problem(visit, exc)
    return redirect(visit, "/me?saved=1#settings")


@router.post("/me/notifications/read")
async def read_all(request: Request, visit: Visit, tx: Transaction) -> Response:
    post = await member_post(request, visit, "/me")
    if isinstance(post, Response):
        return post
    await notifications_service.mark_all_read(tx.session, post.user)
    return redirect(visit, "/me#notifications")


@router.post("/me/notifications/{notification_id}/read")
async def read_one(
    request: Request, visit: Visit, tx: Transaction, notification_id: uuid.UUID
) -> Response:
    post = await member_post(request, visit, "/me")
    if isinstance(post, Response):
        return post
    try:
        async with guarded(tx):
            await notifications_service.mark_read(tx.session, post.user, notification_id)
    except AppError as exc:
        return problem(visit, exc)
    if visit.request.headers.get("hx-request") == "true":
        visit.unread = max(visit.unread - 1, 0)
        return page(visit, "_read.html")
    return redirect(visit, "/me#notifications")
