"""`meetup create-admin`."""

from __future__ import annotations

from app.core.config import Settings
from app.core.db import Database
from app.models.users import User
from app.users import service as users_service


async def create_admin(settings: Settings, *, email: str, password: str, name: str) -> User:
    if not 8 <= len(password) <= 128:
        raise SystemExit("the password must be 8..128 characters")
    assert settings.database_url
    db = Database.from_url(settings.database_url, settings)
    try:
        async with db.sessionmaker() as session, session.begin():
            return await users_service.create_admin(
                session, email=email, password=password, name=name
            )
    finally:
        await db.dispose()
