"""Every table, imported in one place so Alembic and the tests see the whole metadata."""

from app.core.db import metadata
from app.mail.models import EmailMessage
from app.users.models import User

__all__ = ["EmailMessage", "User", "metadata"]
