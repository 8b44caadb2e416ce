"""Request and response bodies of the announcements routes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Self
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.core.schemas import Created, Modified, Patch, View
from app.core.shortcodes import short_url
from app.core.validation import MULTI_LINE, SINGLE_LINE, BoundedDatetime
from app.models.announcements import Announcement, AnnouncementStatus, Approval
from app.models.users import User
from app.users.schemas import Rating


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


def _iana_timezone(name: str) -> str:
    if name not in _timezones():
        raise ValueError("must be an IANA time zone name such as Europe/Moscow or UTC")
    return name


def _clean_tags(values: list[str]) -> list[str]:
    """Tags are stored lower-case and without repeats, so `?tag=` matches any spelling."""
    seen: list[str] = []
    for value in values:
        tag = value.strip().lower()
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def _stripped(max_length: int) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


Title = Annotated[str, _stripped(200), SINGLE_LINE]
Description = Annotated[str, Field(max_length=5000), MULTI_LINE]
MovieTitle = Annotated[str, _stripped(300), SINGLE_LINE]
Location = Annotated[str, _stripped(300), SINGLE_LINE]
Language = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100),
    Field(description='The soundtrack and any subtitles, e.g. "Russian, English subtitles"'),
    SINGLE_LINE,
]
Timezone = Annotated[
    str,
    Field(max_length=64, description="IANA time zone name, e.g. Europe/Moscow", examples=["UTC"]),
    SINGLE_LINE,
    AfterValidator(_iana_timezone),
]
Duration = Annotated[int, Field(ge=1, le=1440, description="Minutes, 1..1440")]
Tickets = Annotated[int, Field(ge=1, le=1000, description="Seats offered, 1..1000")]
Price = Annotated[
    Decimal,
    Field(ge=0, max_digits=10, decimal_places=2, description="Price per seat; a decimal string"),
    AfterValidator(lambda value: value.quantize(Decimal("0.01"))),  # as stored: numeric(10, 2)
]
Tags = Annotated[
    list[Annotated[str, _stripped(40), SINGLE_LINE]],
    Field(max_length=20, description="Up to 20 tags, stored lower-case"),
    AfterValidator(_clean_tags),
]
EventTime = Annotated[
    BoundedDatetime,
    Field(description="Start, ISO 8601 with an offset; must be in the future (and before 2200)"),
    AfterValidator(lambda value: value.astimezone(UTC)),  # stored and returned in UTC
]


def _check_price(is_free: bool, price: Decimal | None) -> None:
    if is_free and price not in (None, Decimal(0)):
        raise ValueError("a free meetup has no price: send is_free=false with a price")
    if not is_free and (price is None or price <= 0):
        raise ValueError("a paid meetup (is_free=false) needs a price above 0")


class AnnouncementCreate(BaseModel):
    """A new meetup. Name the film with `movie_id` (a catalog movie) or `movie_title` (free text),
    not both. A free meetup has no price; a paid one (`is_free: false`) needs one."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    movie_id: uuid.UUID | None = Field(default=None, description="A movie of the catalog")
    movie_title: MovieTitle | None = Field(default=None, description="A film not in the catalog")
    event_time: EventTime
    duration_minutes: Duration | None = Field(
        default=None, description="Defaults to the movie's runtime, else 120"
    )
    location: Location
    language: Language = ""
    timezone: Timezone = "UTC"
    tickets_count: Tickets
    is_free: bool = True
    price: Price | None = None
    sub_only: bool = Field(default=False, description="Only the host's followers may book")
    approval: Approval = Approval.manual
    tags: Tags = []

    @model_validator(mode="after")
    def _consistent(self) -> AnnouncementCreate:
        if (self.movie_id is None) == (self.movie_title is None):
            raise ValueError("give exactly one of movie_id and movie_title")
        _check_price(self.is_free, self.price)
        if self.is_free:
            self.price = None
        return self


# PATCH fields that may be sent as null (movie_id: unlink the catalog movie; price: of a free
# meetup); null for any other field is a 422 (a field added later is not nullable unless listed).
NULLABLE_ON_UPDATE = frozenset({"movie_id", "price"})


class AnnouncementUpdate(Patch):
    """Only the fields sent change; null clears `movie_id` or `price` and is a 422 for any other
    field. `movie_id` switches to a catalog movie (and its title), `movie_title` to a free-text
    film; `movie_id: null` unlinks the catalog movie and keeps its title as text. Bookings keep
    their status when `approval` or `sub_only` change."""

    clearable: ClassVar[frozenset[str]] = NULLABLE_ON_UPDATE

    title: Title | None = None
    description: Description | None = None
    movie_id: uuid.UUID | None = None
    movie_title: MovieTitle | None = None
    event_time: EventTime | None = None
    duration_minutes: Duration | None = None
    location: Location | None = None
    language: Language | None = None
    timezone: Timezone | None = None
    tickets_count: Tickets | None = Field(
        default=None, description="Not below the seats already approved"
    )
    is_free: bool | None = None
    price: Price | None = None
    sub_only: bool | None = None
    approval: Approval | None = None
    tags: Tags | None = None

    @model_validator(mode="after")
    def _one_film(self) -> AnnouncementUpdate:
        if "movie_id" in self.model_fields_set and "movie_title" in self.model_fields_set:
            raise ValueError("give at most one of movie_id and movie_title")
        return self


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=1000), MULTI_LINE] | None = None


class AnnouncementMovie(BaseModel):
    id: uuid.UUID | None = Field(description="The catalog movie, or null for a free-text film")
    title: str


class AnnouncementAuthor(View):
    id: uuid.UUID
    name: str
    host_rating: Rating


class GuestListEntry(View):
    user_id: uuid.UUID
    name: str
    seats: int
    guest_rating: Rating


class FriendGoing(View):
    id: uuid.UUID
    name: str


class AnnouncementListItem(View):
    """A meetup in a list."""

    id: uuid.UUID
    title: str
    movie: AnnouncementMovie
    author: AnnouncementAuthor
    event_time: datetime
    duration_minutes: int
    location: str
    timezone: str = Field(description="IANA time zone the meetup's local times are shown in")
    status: AnnouncementStatus
    tickets_count: int
    tickets_left: int
    is_free: bool
    price: Decimal | None = Field(description='A decimal string such as "5.00"; null when free')
    sub_only: bool
    approval: Approval
    tags: list[str]
    likes_count: int
    short_url: str = Field(description="Absolute short link to this meetup")

    @staticmethod
    def derived(announcement: Announcement, author: User, now: datetime) -> dict[str, Any]:
        """What a list shows beyond the announcement's own columns."""
        return {
            "movie": AnnouncementMovie(id=announcement.movie_id, title=announcement.movie_title),
            "author": author,
            "status": announcement.status_at(now),
            "short_url": short_url(announcement.short_code),
        }

    @classmethod
    def listed(cls, announcement: Announcement, author: User, now: datetime) -> Self:
        return cls.of(announcement, **cls.derived(announcement, author, now))


class AnnouncementPublic(AnnouncementListItem):
    """A meetup in full. `status` follows from the time, the seats and cancellation: `open`,
    `full` (no seat left), `started`, `finished` (after event_time + duration), `cancelled`."""

    created: Created
    modified: Modified
    description: str
    language: str = Field(description="The soundtrack and any subtitles; empty if not said")
    guest_list: list[GuestListEntry] = Field(description="The approved guests")
    waitlist_count: int
    cancelled_at: datetime | None
    cancel_reason: str | None
    friends_going: list[FriendGoing] | None = Field(
        description="The signed-in caller's friends (mutual follows) among the approved "
        "guests; null for an anonymous caller"
    )

    @classmethod
    def build(
        cls,
        announcement: Announcement,
        author: User,
        guests: list[tuple[int, User]],
        now: datetime,
        friends_going: list[User] | None = None,
    ) -> Self:
        return cls.of(
            announcement,
            **cls.derived(announcement, author, now),
            guest_list=[
                GuestListEntry.of(user, user_id=user.id, seats=seats) for seats, user in guests
            ],
            friends_going=friends_going,
        )
