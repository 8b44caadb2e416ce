"""Request and response bodies of /api/v1/admin/webhooks and /api/v1/admin/webhook-deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.core.schemas import Created, Modified, Patch, View
from app.core.validation import SINGLE_LINE
from app.events import EventKind
from app.models.webhooks import DeliveryStatus


def _http_url(value: str) -> str:
    """An absolute http or https URL with a host (no whitespace)."""
    if any(ch.isspace() for ch in value):
        raise ValueError("the URL contains whitespace")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("only http and https URLs are accepted")
    try:
        parts.port  # noqa: B018  # raises on a port that is not a number in 0..65535
    except ValueError as exc:
        raise ValueError("the URL's port is not valid") from exc
    if not parts.hostname:
        raise ValueError("the URL has no host")
    return value


def _unique(kinds: list[EventKind]) -> list[EventKind]:
    return list(dict.fromkeys(kinds))


WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_http_url),
    Field(description="Where deliveries are POSTed: an http or https URL"),
]
EventKinds = Annotated[
    list[EventKind],
    Field(min_length=1, max_length=50, description="The outbox event kinds to deliver"),
    AfterValidator(_unique),
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), SINGLE_LINE]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl
    events: EventKinds
    description: Description = ""


class WebhookUpdate(Patch):
    """Only the fields sent change; null for any of them is a 422."""

    url: WebhookUrl | None = None
    events: EventKinds | None = None
    active: bool | None = None
    description: Description | None = None


class WebhookView(View):
    id: uuid.UUID
    url: str
    events: list[EventKind]
    description: str
    active: bool
    created: Created
    modified: Modified


class WebhookCreated(WebhookView):
    secret: str = Field(
        description="`whsec_<base64>`: verifies the deliveries' signatures. Shown only in this "
        "answer: keep it now."
    )


class DeliveryView(View):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_kind: EventKind
    status: DeliveryStatus
    attempts: int = Field(description="Attempts since created or last redelivered")
    last_status_code: int | None = Field(description="The receiver's last answer, if any")
    last_error: str | None = Field(description="Why the last attempt got no answer, if so")
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When it is tried next (pending only)")
    delivered_at: datetime | None
    created: Created
