"""Every table, imported in one place so Alembic and the tests see the whole metadata."""

from app.auth.models import AuthSession, OneTimeCode
from app.core.db import metadata
from app.mail.models import EmailMessage
from app.users.models import Follow, User

__all__ = ["AuthSession", "EmailMessage", "Follow", "OneTimeCode", "User", "metadata"]
