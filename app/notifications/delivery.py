"""Store notifications, at most one per dedupe key, and queue their emails in the same
transaction: a retried or duplicated job inserts nothing new and so emails no one twice."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from app.announcements.calendar import build_ics
from app.core import clock, i18n
from app.core.db import Tx
from app.mail.render import render_email
from app.mail.service import SEND_EMAIL_JOB, job_id
from app.models.announcements import Announcement
from app.models.mail import EmailMessage
from app.models.notifications import Notification
from app.models.users import User
from app.notifications.render import Notice, when


async def locales_of(tx: Tx, user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each user's language (`User.locale`), for rendering their notices."""
    if not user_ids:
        return {}
    rows = await tx.session.execute(
        select(col(User.id), col(User.locale)).where(col(User.id).in_(set(user_ids)))
    )
    return {user_id: locale for user_id, locale in rows.all()}


def _meetup(announcement: Announcement | None, locale: str) -> dict[str, str] | None:
    if announcement is None:
        return None
    return {
        "title": announcement.title,
        "when": when(announcement, locale),
        "location": announcement.location,
        "movie": announcement.movie_title,
    }


async def deliver(
    tx: Tx, notices: Sequence[Notice], *, announcement: Announcement | None = None
) -> int:
    """Insert the notifications (`ON CONFLICT (dedupe_key) DO NOTHING`) and, for the recipients
    who want email, an email each (in the recipient's language, as the notices are); the emails are sent by the worker after commit. Returns how
    many notifications are new."""
    if not notices:
        return 0
    session = tx.session
    now = clock.now()
    rows = [
        {
            "id": uuid.uuid4(),
            "user_id": n.user_id,
            "kind": n.kind,
            "title": n.title[:300],
            "body": n.body[:5000],
            "link": n.link,
            "announcement_id": n.announcement_id,
            "booking_id": n.booking_id,
            "event_id": n.event_id,
            "dedupe_key": n.dedupe_key,
            "created_at": now,
        }
        for n in notices
    ]
    inserted = await session.execute(
        insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(Notification.id), col(Notification.dedupe_key))
    )
    new_ids = {key: notification_id for notification_id, key in inserted.all()}
    fresh = [n for n in notices if n.dedupe_key in new_ids]
    if not fresh:
        return 0

    recipients = {
        user.id: user
        for user in (
            await session.execute(
                select(col(User.id), col(User.email), col(User.name), col(User.locale)).where(
                    col(User.id).in_({n.user_id for n in fresh}),
                    col(User.email_notifications),
                    col(User.is_active),
                )
            )
        ).all()
    }
    ics = None
    if announcement is not None and any(n.attach_ics and n.user_id in recipients for n in fresh):
        ics = build_ics(announcement).decode()
    meetups = {locale: _meetup(announcement, locale) for locale in i18n.SUPPORTED}
    emails = []
    for notice in fresh:
        recipient = recipients.get(notice.user_id)
        if recipient is None:
            continue
        attach = ics if notice.attach_ics else None
        locale = i18n.normalize(recipient.locale)
        rendered = render_email(
            "notification",
            locale=locale,
            subject=notice.title,
            name=recipient.name,
            body=notice.body,
            meetup=meetups[locale],
            link=notice.link,
            has_ics=attach is not None,
        )
        emails.append(
            EmailMessage(
                to_address=recipient.email,
                subject=rendered.subject,
                text_body=rendered.text,
                html_body=rendered.html,
                ics_attachment=attach,
                notification_id=new_ids[notice.dedupe_key],
            )
        )
    session.add_all(emails)
    await session.flush()
    for email in emails:
        tx.enqueue_after_commit(SEND_EMAIL_JOB, str(email.id), job_id=job_id(email.id, 0))
    return len(fresh)
