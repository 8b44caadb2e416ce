"""`meetup seed-demo`: the film catalog, a few demo accounts, follows and friendships, followed
films, film reviews and likes, meetups and bookings.

Everything goes through the domain services, so counters, short links and outbox events are what
real use would produce (the worker delivers the events when it runs). Running it again adds
missing films and leaves the rest alone: the demo accounts and their meetups are created once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.announcements import service as announcements_service
from app.announcements.schemas import AnnouncementCreate
from app.bookings import service as bookings_service
from app.bookings.schemas import BookingCreate
from app.core import clock, security
from app.core.config import Settings
from app.core.db import Database, Tx
from app.models.movies import Movie
from app.models.users import User
from app.movies import community
from app.movies.schemas import MovieReviewCreate
from app.seed.films import FILMS
from app.users import service as users_service

DEMO_PASSWORD = "demo-password"
DEMO_DOMAIN = "demo.example.com"  # a reserved domain: no real mailbox

# key, name, bio
PEOPLE = (
    ("ann", "Ann Petrova", "Hosts Tarkovsky evenings in her flat. Tea is always on."),
    ("boris", "Boris Weber", "Runs a small backyard cinema in Berlin."),
    ("vera", "Vera Martin", "Romance, food, and films with subtitles."),
    ("gleb", "Gleb Sokolov", "Will watch anything with samurai or replicants."),
    ("dasha", "Dasha Ivanova", "Science fiction, mostly."),
)
# follower -> followees; the follows both ways are friendships (ann-vera, boris-gleb, vera-dasha)
FOLLOWS = {
    "ann": ("vera",),
    "boris": ("gleb",),
    "vera": ("ann", "dasha"),
    "gleb": ("ann", "boris"),
    "dasha": ("ann", "boris", "vera"),
}
# who follows which catalog films (followed before the meetups are announced, so the worker tells
# them of the new meetups of their films)
FILM_FOLLOWS = {
    "dasha": ("Solaris", "Blade Runner", "Stalker"),
    "gleb": ("Seven Samurai", "Blade Runner"),
    "vera": ("Amélie", "My Neighbor Totoro"),
}
# reviewer, film, score 1..10, text
FILM_REVIEWS = (
    ("ann", "Stalker", 10, "The Zone is a state of mind. Watch it twice, the second time alone."),
    ("dasha", "Stalker", 9, "Slow, then suddenly you notice you have stopped breathing."),
    ("gleb", "Stalker", 7, None),
    ("dasha", "Solaris", 8, "Better than the remake, and the remake is good."),
    ("gleb", "Seven Samurai", 10, "Three and a half hours and not a minute too long."),
    ("boris", "Seven Samurai", 9, "We show it every autumn. Bring a cushion."),
    ("vera", "Amélie", 9, "Paris as it never was, and I don't mind."),
    ("boris", "Blade Runner", 8, "The final cut, on the biggest wall we have."),
)
# liker -> (author, film) of the reviews they like
FILM_REVIEW_LIKES = {
    "vera": (("ann", "Stalker"), ("boris", "Seven Samurai")),
    "gleb": (("ann", "Stalker"), ("dasha", "Stalker")),
    "boris": (("ann", "Stalker"), ("gleb", "Seven Samurai")),
}


@dataclass
class Meetup:
    host: str
    title: str
    film: str  # a catalog title, or free text when not in the catalog
    days_ahead: int
    timezone: str
    location: str
    tickets: int
    extra: dict[str, Any] = field(default_factory=dict)
    bookings: tuple[tuple[str, int], ...] = ()  # (guest, seats)


MEETUPS = (
    Meetup(
        "ann", "Stalker at Ann's", "Stalker", 3, "Europe/Moscow", "Ann's flat, Moscow", 4,
        {"approval": "manual", "tags": ["tarkovsky", "classic"],
         "description": "Long film, short introduction, tea and a talk afterwards."},
        (("vera", 1),),
    ),
    Meetup(
        "ann", "Solaris, slowly", "Solaris", 10, "Europe/Moscow", "Ann's flat, Moscow", 6,
        {"approval": "auto", "tags": ["tarkovsky", "sci-fi"]},
        (("dasha", 2),),
    ),
    Meetup(
        "boris", "Kurosawa Sunday", "Seven Samurai", 5, "Europe/Berlin",
        "Kino im Hinterhof, Berlin", 12,
        {"approval": "auto", "is_free": False, "price": Decimal("5.00"),
         "tags": ["kurosawa", "samurai"], "description": "Intermission with soup."},
        (("gleb", 2),),
    ),
    Meetup(
        "boris", "Hitchcock for followers", "Vertigo", 8, "Europe/Berlin",
        "Kino im Hinterhof, Berlin", 8,
        {"approval": "manual", "sub_only": True, "tags": ["hitchcock"]},
    ),
    Meetup(
        "ann", "Totoro for families", "My Neighbor Totoro", 6, "Europe/Moscow",
        "Library hall, Moscow", 10,
        {"approval": "auto", "tags": ["kids", "animation"]},
    ),
    Meetup(
        "boris", "Blade Runner on the roof", "Blade Runner", 12, "Europe/Berlin",
        "Rooftop, Torstraße, Berlin", 15,
        {"approval": "auto", "tags": ["sci-fi", "rooftop"]},
        (("gleb", 1), ("dasha", 1)),
    ),
    Meetup(
        "vera", "Amélie and crêpes", "Amélie", 4, "Europe/Paris", "Vera's kitchen, Paris", 3,
        {"approval": "manual", "tags": ["romance", "food"]},
    ),
    Meetup(
        "ann", "Our home videos, 1998", "Home videos 1998", 14, "Europe/Moscow",
        "Ann's flat, Moscow", 5,
        {"approval": "manual", "tags": ["home-movies"], "duration_minutes": 60},
    ),
)  # fmt: skip


@dataclass
class SeedReport:
    movies_added: int = 0
    users_created: list[str] = field(default_factory=list)
    announcements_created: int = 0
    bookings_created: int = 0
    film_reviews_created: int = 0


def _local_evening(days_ahead: int, zone: str) -> datetime:
    """19:00 local time, `days_ahead` days from today in that zone."""
    tz = ZoneInfo(zone)
    day = (clock.now().astimezone(tz) + timedelta(days=days_ahead)).date()
    return datetime.combine(day, time(19, 0), tzinfo=tz)


async def _add_films(session: AsyncSession) -> int:
    added = await session.scalars(
        insert(Movie)
        .values(
            [
                {
                    "title": film.title,
                    "year": film.year,
                    "genres": list(film.genres),
                    "runtime_minutes": film.runtime_minutes,
                    "description": "",
                    "created_at": clock.now(),
                    "updated_at": clock.now(),
                }
                for film in FILMS
            ]
        )
        .on_conflict_do_nothing()
        .returning(col(Movie.id))
    )
    return len(added.all())


async def _people(session: AsyncSession, report: SeedReport) -> dict[str, User] | None:
    """The demo accounts, or None when they already exist (seeded before)."""
    first = f"{PEOPLE[0][0]}@{DEMO_DOMAIN}"
    if await users_service.find_user_by_email(session, first) is not None:
        return None
    password_hash = await security.hash_password(DEMO_PASSWORD)
    people = {}
    for key, name, bio in PEOPLE:
        user = User(
            email=f"{key}@{DEMO_DOMAIN}",
            name=name,
            bio=bio,
            password_hash=password_hash,
            is_confirmed=True,
        )
        session.add(user)
        people[key] = user
        report.users_created.append(user.email)
    await session.flush()
    return people


async def _movie_ids(session: AsyncSession) -> dict[str, Movie]:
    movies = await session.scalars(select(Movie))
    return {movie.title.lower(): movie for movie in movies}


async def _film_community(
    tx: Tx, people: dict[str, User], catalog: dict[str, Movie], report: SeedReport
) -> None:
    for person, titles in FILM_FOLLOWS.items():
        for title in titles:
            await community.follow(tx, people[person], catalog[title.lower()].id)
    review_ids = {}
    for person, title, score, text in FILM_REVIEWS:
        review = await community.create_review(
            tx,
            author=people[person],
            movie_id=catalog[title.lower()].id,
            data=MovieReviewCreate(score=score, text=text),
        )
        review_ids[person, title] = review.id
        report.film_reviews_created += 1
    for liker, liked in FILM_REVIEW_LIKES.items():
        for key in liked:
            await community.like(tx, user=people[liker], review_id=review_ids[key])


async def seed(tx: Tx) -> SeedReport:
    report = SeedReport()
    session = tx.session
    report.movies_added = await _add_films(session)
    people = await _people(session, report)
    if people is None:
        return report
    for follower, followees in FOLLOWS.items():
        for followee in followees:
            await users_service.follow(tx, people[follower], people[followee].id)
    catalog = await _movie_ids(session)
    await _film_community(tx, people, catalog, report)
    for meetup in MEETUPS:
        movie = catalog.get(meetup.film.lower())
        film: dict[str, Any] = {"movie_id": movie.id} if movie else {"movie_title": meetup.film}
        announcement = await announcements_service.create_announcement(
            tx,
            author=people[meetup.host],
            data=AnnouncementCreate(
                title=meetup.title,
                event_time=_local_evening(meetup.days_ahead, meetup.timezone),
                timezone=meetup.timezone,
                location=meetup.location,
                tickets_count=meetup.tickets,
                **film,
                **meetup.extra,
            ),
        )
        report.announcements_created += 1
        for guest, seats in meetup.bookings:
            await bookings_service.request_seats(
                tx,
                guest=people[guest],
                announcement_id=announcement.id,
                data=BookingCreate(seats=seats),
            )
            report.bookings_created += 1
    return report


async def seed_demo(settings: Settings) -> SeedReport:
    """Seed the database of `settings` in one transaction."""
    assert settings.database_url
    db = Database.from_url(settings.database_url, settings)
    try:
        async with db.sessionmaker() as session, session.begin():
            return await seed(Tx(session))
    finally:
        await db.dispose()
