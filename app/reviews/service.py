"""Reviews between a meetup's host and its approved guests, their moderation, and the running
rating aggregates on `user_account`.

The aggregates (host_rating_sum/count, guest_rating_sum/count) count visible reviews only. Every
change that moves them (create, hide, unhide, delete) does so with one atomic
`UPDATE user_account SET x = x + :step` in its own transaction, under the review's row lock where
the review already exists, so concurrent toggles cannot count a review twice.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.core import clock
from app.core.db import Tx
from app.core.errors import Forbidden, NotFound
from app.core.i18n import N_, N_plural
from app.core.logging import get_logger
from app.core.pagination import PageParams, paginate_rows
from app.models.announcements import REVIEW_WINDOW, Announcement
from app.models.bookings import Booking, BookingStatus
from app.models.reviews import Review, TargetRole
from app.models.users import Role, User
from app.reviews.errors import AlreadyReviewed, NotAParticipant, ReviewWindowClosed
from app.reviews.schemas import ReviewCreate, ReviewPublic
from app.users import service as users_service

log = get_logger(__name__)


MODERATOR_ROLES = (Role.moderator, Role.admin)

Author = aliased(User, name="author")
Target = aliased(User, name="target")


def can_moderate(user: User | None) -> bool:
    return user is not None and user.role in MODERATOR_ROLES


# --- reading -----------------------------------------------------------------------------------


def _base() -> Select[Review, User, User]:
    return (
        select(Review, Author, Target)
        .join(Author, col(Author.id) == col(Review.author_id))
        .join(Target, col(Target.id) == col(Review.target_id))
    )


def _view(review: Review, author: User, target: User) -> ReviewPublic:
    return ReviewPublic.of(review, author=author, target=target)


async def review_view(session: AsyncSession, review_id: uuid.UUID) -> ReviewPublic:
    row = (await session.execute(_base().where(col(Review.id) == review_id))).one()
    return _view(*row)


async def _page(
    session: AsyncSession, query: Select[Review, User, User], viewer: User | None, page: PageParams
) -> tuple[list[ReviewPublic], int]:
    if not can_moderate(viewer):
        query = query.where(col(Review.hidden).is_(False))
    query = query.order_by(col(Review.created_at).desc(), col(Review.id).desc())
    rows, total = await paginate_rows(session, query, page)
    return [_view(*row) for row in rows], total


async def get_announcement(session: AsyncSession, announcement_id: uuid.UUID) -> Announcement:
    announcement = await session.get(Announcement, announcement_id)
    if announcement is None:
        raise NotFound(N_("No such announcement."))
    return announcement


async def list_for_announcement(
    session: AsyncSession, announcement_id: uuid.UUID, viewer: User | None, page: PageParams
) -> tuple[list[ReviewPublic], int]:
    """Reviews of one meetup, newest first; hidden ones only for moderators and admins."""
    await get_announcement(session, announcement_id)
    return await _page(
        session, _base().where(col(Review.announcement_id) == announcement_id), viewer, page
    )


async def list_for_user(
    session: AsyncSession,
    user_id: uuid.UUID,
    role: TargetRole | None,
    viewer: User | None,
    page: PageParams,
) -> tuple[list[ReviewPublic], int]:
    """Reviews a user received, as host, as guest, or (role None) both; newest first."""
    await users_service.get_active_user(session, user_id)
    query = _base().where(col(Review.target_id) == user_id)
    if role is not None:
        query = query.where(col(Review.target_role) == role)
    return await _page(session, query, viewer, page)


# --- writing -----------------------------------------------------------------------------------


async def _is_approved_guest(
    session: AsyncSession, announcement_id: uuid.UUID, user_id: uuid.UUID
) -> bool:
    found = await session.scalar(
        select(
            exists().where(
                col(Booking.announcement_id) == announcement_id,
                col(Booking.guest_id) == user_id,
                col(Booking.status) == BookingStatus.approved,
            )
        )
    )
    return bool(found)


async def _target_role(
    session: AsyncSession, announcement: Announcement, author_id: uuid.UUID, target_id: uuid.UUID
) -> TargetRole:
    """The role the target had at the meetup, if `author` may review them; else 403."""
    host_id = announcement.author_id
    if author_id == host_id:
        if target_id != host_id and await _is_approved_guest(session, announcement.id, target_id):
            return TargetRole.guest
    elif target_id == host_id and await _is_approved_guest(session, announcement.id, author_id):
        return TargetRole.host
    raise NotAParticipant()


def _check_window(announcement: Announcement) -> None:
    now = clock.now()
    if announcement.cancelled_at is not None:
        # A cancelled meetup never took place, so it never opens for reviews.
        raise ReviewWindowClosed(N_("This meetup was cancelled: it cannot be reviewed."))
    if now < announcement.ends_at:
        raise ReviewWindowClosed()
    if not announcement.in_review_window(now):
        raise ReviewWindowClosed(
            N_plural(
                "Reviews close {n} day after the meetup has ended.",
                "Reviews close {n} days after the meetup has ended.",
            ),
            count=REVIEW_WINDOW.days,
        )


async def rated_by(
    session: AsyncSession, announcement_id: uuid.UUID, author_id: uuid.UUID
) -> dict[uuid.UUID, int]:
    """Whom `author` has rated for this meetup, with the score given (hidden reviews too)."""
    rows = await session.execute(
        select(col(Review.target_id), col(Review.score)).where(
            col(Review.announcement_id) == announcement_id, col(Review.author_id) == author_id
        )
    )
    return {target: score for target, score in rows.all()}


async def _move_rating(session: AsyncSession, review: Review, step: int) -> None:
    """Add (step=+1) or remove (step=-1) a visible review to its target's rating aggregate."""
    await users_service.move_rating(
        session,
        review.target_id,
        as_host=review.target_role is TargetRole.host,
        score=review.score,
        step=step,
    )


async def create_review(
    tx: Tx, *, author: User, announcement: Announcement, data: ReviewCreate
) -> ReviewPublic:
    session = tx.session
    role = await _target_role(session, announcement, author.id, data.target_user_id)
    _check_window(announcement)
    now = clock.now()
    # The unique constraint decides between two identical concurrent requests: the second insert
    # waits for the first transaction and then conflicts, instead of counting twice.
    review_id = await session.scalar(
        insert(Review)
        .values(
            id=uuid.uuid4(),
            announcement_id=announcement.id,
            author_id=author.id,
            target_id=data.target_user_id,
            target_role=role,
            score=data.score,
            comment=data.comment,
            hidden=False,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(constraint="uq_review_once")
        .returning(col(Review.id))
    )
    if review_id is None:
        raise AlreadyReviewed()
    await users_service.move_rating(
        session, data.target_user_id, as_host=role is TargetRole.host, score=data.score, step=+1
    )
    log.info(
        "review_created",
        review_id=str(review_id),
        announcement_id=str(announcement.id),
        target_role=role.value,
    )
    return await review_view(session, review_id)


async def _locked_review(session: AsyncSession, review_id: uuid.UUID) -> Review:
    review = await session.scalar(
        select(Review)
        .where(col(Review.id) == review_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if review is None:
        raise NotFound(N_("No such review."))
    return review


async def set_hidden(tx: Tx, *, user: User, review_id: uuid.UUID, hidden: bool) -> ReviewPublic:
    """Hide or unhide a review (moderators, admins). Idempotent: a repeat changes nothing."""
    session = tx.session
    review = await _locked_review(session, review_id)
    if not can_moderate(user):
        raise Forbidden(N_("Only moderators and admins hide or unhide reviews."))
    if review.hidden != hidden:
        review.hidden = hidden
        review.updated_at = clock.now()
        await session.flush()
        await _move_rating(session, review, -1 if hidden else +1)
        log.info("review_hidden" if hidden else "review_unhidden", review_id=str(review.id))
    return await review_view(session, review.id)


async def delete_review(tx: Tx, *, user: User, review_id: uuid.UUID) -> None:
    """Its author deletes a review; a visible one leaves the target's aggregate."""
    session = tx.session
    review = await _locked_review(session, review_id)
    if review.author_id != user.id:
        raise Forbidden(N_("Only its author may delete a review."))
    await session.delete(review)
    await session.flush()
    if not review.hidden:
        await _move_rating(session, review, -1)
    log.info("review_deleted", review_id=str(review.id))
