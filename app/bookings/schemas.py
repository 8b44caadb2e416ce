"""Request and response bodies of the bookings routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import ApiEnum, Created, Modified, View
from app.core.validation import MULTI_LINE
from app.models.bookings import BookingStatus
from app.users.schemas import Rating


class BookingRole(ApiEnum):
    """Whose bookings GET /bookings lists: the caller's as a guest, or those of the meetups the
    caller hosts."""

    guest = "guest"
    host = "host"


class BookingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seats: Annotated[int, Field(ge=1, le=10)] = 1
    message: Annotated[str, Field(max_length=1000), MULTI_LINE] | None = None
    join_waitlist: bool = False


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=1000), MULTI_LINE] | None = None


class BookingAnnouncement(View):
    id: uuid.UUID
    title: str
    movie_title: str
    event_time: datetime
    location: str


class BookingGuest(View):
    id: uuid.UUID
    name: str
    guest_rating: Rating


class BookingHost(View):
    id: uuid.UUID
    name: str
    host_rating: Rating


class BookingPublic(View):
    id: uuid.UUID
    announcement: BookingAnnouncement
    guest: BookingGuest
    host: BookingHost
    seats: int
    status: BookingStatus
    message: str | None
    reason: str | None = Field(description="Why it was rejected, if the host said")
    created: Created
    modified: Modified
