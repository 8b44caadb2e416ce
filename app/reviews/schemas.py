"""Request and response bodies of the reviews routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import Created, View
from app.core.validation import MULTI_LINE
from app.models.reviews import TargetRole

MAX_COMMENT = 2000


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_user_id: uuid.UUID = Field(
        description="The host (when a guest writes) or an approved guest (when the host writes)"
    )
    score: Annotated[int, Field(ge=1, le=5, description="1 (worst) .. 5 (best)")]
    comment: Annotated[str, Field(max_length=MAX_COMMENT), MULTI_LINE] | None = None


class ReviewUser(View):
    id: uuid.UUID
    name: str


class ReviewPublic(View):
    """A review. `hidden` is always present; only moderators and admins are ever shown a hidden
    review, so everyone else only ever sees `false`."""

    id: uuid.UUID
    announcement_id: uuid.UUID
    author: ReviewUser
    target: ReviewUser
    target_role: TargetRole = Field(description="The role the target had at that meetup")
    score: int
    comment: str | None
    created: Created
    hidden: bool = Field(description="Hidden by a moderator: not listed to others, not counted")
