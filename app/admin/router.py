"""/api/v1/admin: account management (jobs and analytics join later)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.auth.dependencies import AdminUser
from app.core.db import Transaction
from app.core.errors import Forbidden, NotAuthenticated, NotFound, errors
from app.users import service as users_service
from app.users.schemas import AdminUserUpdate, UserAdminView

router = APIRouter(prefix="/admin", tags=["admin"])


@router.patch(
    "/users/{user_id}",
    response_model=UserAdminView,
    responses=errors(NotAuthenticated, Forbidden, NotFound),
)
async def update_user(
    user_id: uuid.UUID, body: AdminUserUpdate, _: AdminUser, tx: Transaction
) -> UserAdminView:
    """Change a user's role or (de)activate them; a deactivated user's tokens stop working."""
    return UserAdminView.of(await users_service.admin_update_user(tx, user_id, body))
