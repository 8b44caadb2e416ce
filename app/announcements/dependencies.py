"""Lookups and query parsing shared by the announcement routes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import Depends, Query
from pydantic import AfterValidator, Field

from app.core.db import Transaction
from app.core.errors import NotFound
from app.core.i18n import N_
from app.core.schemas import ApiEnum
from app.core.validation import BoundedDatetime, SingleLineText, bounded_date
from app.models.announcements import Announcement, AnnouncementStatus


class AnnouncementSort(ApiEnum):
    """The orders of GET /announcements."""

    event_time = "event_time"
    event_time_desc = "-event_time"
    created_desc = "-created"
    host_rating_desc = "-host_rating"
    likes_desc = "-likes"


Sort = AnnouncementSort


async def _existing_announcement(announcement_id: uuid.UUID, tx: Transaction) -> Announcement:
    """404 before the body is validated: the contract orders errors 401, 404, 422, 403, 409."""
    announcement = await tx.session.get(Announcement, announcement_id)
    if announcement is None:
        raise NotFound(N_("No such announcement."))
    return announcement


ExistingAnnouncement = Annotated[Announcement, Depends(_existing_announcement)]


@dataclass
class AnnouncementFilters:
    """The filters and the order of GET /announcements; every filter narrows the others."""

    q: str | None = None
    movie_id: uuid.UUID | None = None
    author_id: uuid.UUID | None = None
    location: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None  # inclusive
    has_seats: bool | None = None
    is_free: bool | None = None
    sub_only: bool | None = None
    tags: list[str] = field(default_factory=list)
    statuses: list[AnnouncementStatus] = field(default_factory=list)
    sort: Sort = Sort.event_time


# An instant, or a whole UTC day; both within the bounds of app.core.validation, so that the
# end-of-day arithmetic below cannot overflow (9999-12-31 was a 500).
DateBound = Annotated[
    BoundedDatetime | Annotated[date, AfterValidator(bounded_date)],
    Field(union_mode="left_to_right"),
]
Text = SingleLineText


def _start_of(bound: datetime | date) -> datetime:
    if isinstance(bound, datetime):
        return bound
    return datetime.combine(bound, time.min, tzinfo=UTC)


def _end_of(bound: datetime | date) -> datetime:
    """A date means the whole UTC day: the bound is its last microsecond."""
    if isinstance(bound, datetime):
        return bound
    return datetime.combine(bound + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(
        microseconds=1
    )


async def announcement_filters(
    q: Annotated[
        Text | None,
        Query(
            max_length=200,
            description="Words of the title, description or film title (each as a word prefix, "
            "any case; all must match)",
        ),
    ] = None,
    movie_id: uuid.UUID | None = None,
    author_id: uuid.UUID | None = None,
    location: Annotated[
        Text | None, Query(max_length=300, description="Part of the location, any case")
    ] = None,
    date_from: Annotated[
        DateBound | None,
        Query(
            description="event_time at or after this instant (ISO 8601 with an offset); a plain "
            "date means the start of that day in UTC"
        ),
    ] = None,
    date_to: Annotated[
        DateBound | None,
        Query(
            description="event_time at or before this instant (ISO 8601 with an offset); a plain "
            "date means the whole of that day in UTC"
        ),
    ] = None,
    has_seats: Annotated[
        bool | None, Query(description="true: at least one seat left; false: none left")
    ] = None,
    is_free: bool | None = None,
    sub_only: bool | None = None,
    tag: Annotated[
        list[Annotated[Text, Query(max_length=40)]] | None,
        Query(description="A tag, any case; repeat it to require several"),
    ] = None,
    status: Annotated[
        list[AnnouncementStatus] | None,
        Query(
            description="Repeat to combine (any of them). Without it: upcoming meetups, "
            "`open` and `full`"
        ),
    ] = None,
    sort: Annotated[
        Sort,
        Query(
            description="`event_time` (default, soonest first), `-event_time`, `-created` "
            "(newest first), `-host_rating` (best-rated hosts first, unrated last), `-likes`"
        ),
    ] = Sort.event_time,
) -> AnnouncementFilters:
    return AnnouncementFilters(
        q=q,
        movie_id=movie_id,
        author_id=author_id,
        location=location,
        date_from=_start_of(date_from) if date_from is not None else None,
        date_to=_end_of(date_to) if date_to is not None else None,
        has_seats=has_seats,
        is_free=is_free,
        sub_only=sub_only,
        tags=[t.strip().lower() for t in tag or [] if t.strip()],
        statuses=list(dict.fromkeys(status or [])),
        sort=sort,
    )


Filters = Annotated[AnnouncementFilters, Depends(announcement_filters)]
