"""Profiles, following, and what admins change about accounts."""

from __future__ import annotations

import uuid

from sqlalchemy import (
    BindParameter,
    Integer,
    Select,
    Update,
    bindparam,
    case,
    delete,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.core import clock, security
from app.core.db import Tx
from app.core.errors import NotFound
from app.core.i18n import N_
from app.core.pagination import PageParams, paginate_rows
from app.models.users import Follow, Role, User
from app.sessions import service as sessions
from app.users.errors import CannotFollowSelf
from app.users.schemas import AdminUserUpdate, UserUpdate


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


async def get_active_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound(N_("No such user."))
    return user


async def update_me(tx: Tx, user: User, data: UserUpdate) -> User:
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(user, field, value)
    user.updated_at = clock.now()
    await tx.session.flush()
    return user


async def follow(tx: Tx, follower: User, followee_id: uuid.UUID) -> None:
    if followee_id == follower.id:
        raise CannotFollowSelf()
    await get_active_user(tx.session, followee_id)
    inserted = await tx.session.scalar(
        insert(Follow)
        .values(follower_id=follower.id, followee_id=followee_id, created_at=clock.now())
        .on_conflict_do_nothing()
        .returning(col(Follow.follower_id))
    )
    if inserted is not None:  # idempotent: counters move only when the relation is new
        await _move_follow_counters(tx.session, follower.id, followee_id, +1)


async def unfollow(tx: Tx, follower: User, followee_id: uuid.UUID) -> None:
    if followee_id == follower.id:
        raise CannotFollowSelf()
    if await tx.session.get(User, followee_id) is None:
        raise NotFound(N_("No such user."))
    deleted = await tx.session.scalar(
        delete(Follow)
        .where(col(Follow.follower_id) == follower.id, col(Follow.followee_id) == followee_id)
        .returning(col(Follow.follower_id))
    )
    if deleted is not None:
        await _move_follow_counters(tx.session, follower.id, followee_id, -1)


def _build_move_follow_counters() -> Update:
    """Both counter rows in one statement, locked in id order: the CTE takes the row locks in
    its ORDER BY (the update only touches rows it has emitted, so already locked), whichever
    way round the two users are. Updating follower then followee instead deadlocked two users
    following each other at the same moment. FOR NO KEY UPDATE, as an UPDATE that leaves the key
    alone takes: it does not wait on the key-share locks of follow rows being inserted."""
    follower: BindParameter[uuid.UUID]
    followee: BindParameter[uuid.UUID]
    follower, followee, step = (
        bindparam("follower"),
        bindparam("followee"),
        bindparam("step", type_=Integer),
    )
    locked = (
        select(col(User.id))
        .where(col(User.id).in_([follower, followee]))
        .order_by(col(User.id))
        .with_for_update(key_share=True)
        .cte("locked")
        .prefix_with("MATERIALIZED")
    )
    return (
        update(User)
        .where(col(User.id).in_(select(locked.c.id)))
        .values(
            following_count=col(User.following_count)
            + case((col(User.id) == follower, step), else_=0),
            followers_count=col(User.followers_count)
            + case((col(User.id) == followee, step), else_=0),
        )
    )


_MOVE_FOLLOW_COUNTERS = _build_move_follow_counters()


async def _move_follow_counters(
    session: AsyncSession, follower_id: uuid.UUID, followee_id: uuid.UUID, step: int
) -> None:
    """Move the follower and followee counts, and the friends counts of both when the follow
    just made (or broke) a mutual one.

    The reverse follow is read in a statement of its own, after the first has taken both users'
    row locks: a follow the other way committed while we waited is then visible. (Read inside
    the locking statement, it would come from that statement's older snapshot, and two users
    following each other at the same moment would both miss the friendship.)"""
    await session.execute(
        _MOVE_FOLLOW_COUNTERS, {"follower": follower_id, "followee": followee_id, "step": step}
    )
    reverse = exists().where(
        col(Follow.follower_id) == followee_id, col(Follow.followee_id) == follower_id
    )
    if await session.scalar(select(reverse)):
        await session.execute(
            update(User)
            .where(col(User.id).in_([follower_id, followee_id]))
            .values(friends_count=col(User.friends_count) + step)
            .execution_options(synchronize_session=False)
        )


def _friends_of(user_id: uuid.UUID) -> Select[User]:
    """The users who follow `user_id` and whom `user_id` follows, friendship's start newest first."""
    theirs = aliased(Follow, name="theirs")
    mine = aliased(Follow, name="mine")
    return (
        select(User)
        .join(theirs, col(theirs.follower_id) == col(User.id))
        .join(mine, col(mine.followee_id) == col(User.id))
        .where(
            col(theirs.followee_id) == user_id,
            col(mine.follower_id) == user_id,
            col(User.is_active).is_(True),
        )
        .order_by(func.greatest(col(theirs.created_at), col(mine.created_at)).desc(), col(User.id))
    )


async def list_friends(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[User], int]:
    await get_active_user(session, user_id)
    rows, total = await paginate_rows(session, _friends_of(user_id), page)
    return rows, total


async def friend_ids_among(
    session: AsyncSession, user_id: uuid.UUID, candidates: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of `candidates` are friends of `user_id` (one query)."""
    if not candidates:
        return set()
    theirs = aliased(Follow, name="theirs")
    rows = await session.scalars(
        select(col(Follow.followee_id))
        .join(
            theirs,
            (col(theirs.follower_id) == col(Follow.followee_id))
            & (col(theirs.followee_id) == col(Follow.follower_id)),
        )
        .where(col(Follow.follower_id) == user_id, col(Follow.followee_id).in_(candidates))
    )
    return set(rows)


async def is_following(
    session: AsyncSession, follower_id: uuid.UUID, followee_id: uuid.UUID
) -> bool:
    return await session.get(Follow, (follower_id, followee_id)) is not None


async def list_followers(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[User], int]:
    await get_active_user(session, user_id)
    query = (
        select(User)
        .join(Follow, col(Follow.follower_id) == col(User.id))
        .where(col(Follow.followee_id) == user_id, col(User.is_active).is_(True))
        .order_by(col(Follow.created_at).desc(), col(User.id))
    )
    rows, total = await paginate_rows(session, query, page)
    return rows, total


async def list_following(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[User], int]:
    await get_active_user(session, user_id)
    query = (
        select(User)
        .join(Follow, col(Follow.followee_id) == col(User.id))
        .where(col(Follow.follower_id) == user_id, col(User.is_active).is_(True))
        .order_by(col(Follow.created_at).desc(), col(User.id))
    )
    rows, total = await paginate_rows(session, query, page)
    return rows, total


async def admin_update_user(tx: Tx, user_id: uuid.UUID, data: AdminUserUpdate) -> User:
    user = await tx.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(N_("No such user."))
    if data.role is not None:
        user.role = data.role
    if data.is_active is not None:
        if data.is_active != user.is_active or not data.is_active:
            # Like a password reset: every session ends and every token issued before now stops
            # counting, so re-activating the account later revives none of them. Done on
            # re-activation too: a sign-in racing the deactivation (its password checked before,
            # its session written after) leaves no session that would come back to life.
            await sessions.end_every_session(tx.session, user)
        user.is_active = data.is_active
    user.updated_at = clock.now()
    await tx.session.flush()
    return user


async def create_admin(session: AsyncSession, *, email: str, password: str, name: str) -> User:
    """Create a confirmed admin, or promote (and re-password) the existing account."""
    user = await find_user_by_email(session, email)
    password_hash = await security.hash_password(password)
    if user is None:
        user = User(email=email.strip(), name=name, password_hash=password_hash)
        session.add(user)
    user.role = Role.admin
    user.is_active = True
    user.is_confirmed = True
    user.password_hash = password_hash
    await session.flush()
    return user


# --- aggregates other domains keep on the account (under their own locks) -------------------------


async def move_rating(
    session: AsyncSession, user_id: uuid.UUID, *, as_host: bool, score: int, step: int
) -> None:
    """Add (step=+1) or remove (step=-1) one visible review of `score` to the user's host or
    guest rating: sum and count change in one UPDATE, so racing reviews cannot lose one."""
    if as_host:
        values = {
            "host_rating_sum": col(User.host_rating_sum) + step * score,
            "host_rating_count": col(User.host_rating_count) + step,
        }
    else:
        values = {
            "guest_rating_sum": col(User.guest_rating_sum) + step * score,
            "guest_rating_count": col(User.guest_rating_count) + step,
        }
    await session.execute(update(User).where(col(User.id) == user_id).values(**values))


async def move_hosted_count(session: AsyncSession, user_id: uuid.UUID, step: int) -> None:
    """The number of meetups the user hosts that are not cancelled, +1 or -1."""
    await session.execute(
        update(User)
        .where(col(User.id) == user_id)
        .values(hosted_count=col(User.hosted_count) + step)
        .execution_options(synchronize_session=False)
    )
