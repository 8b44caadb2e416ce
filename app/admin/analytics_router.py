"""/api/v1/admin/analytics: the admin's report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.admin import analytics
from app.admin.analytics import AnalyticsReport
from app.admin.errors import InvalidDateRange
from app.core.db import Transaction
from app.core.errors import Forbidden, NotAuthenticated, errors
from app.core.validation import BoundedDate
from app.sessions.dependencies import AdminUser

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get(
    "/analytics",
    response_model=AnalyticsReport,
    responses=errors(NotAuthenticated, Forbidden, InvalidDateRange),
)
async def get_analytics(
    _: AdminUser,
    tx: Transaction,
    date_from: Annotated[
        BoundedDate | None,
        Query(description="First UTC day of the period (default: 29 days before date_to)"),
    ] = None,
    date_to: Annotated[
        BoundedDate | None,
        Query(description="Last UTC day of the period, inclusive (default: today)"),
    ] = None,
) -> AnalyticsReport:
    """Report: users, announcements and bookings by status, fill rate, notifications, top movies and hosts, per-day series."""
    return await analytics.report(tx.session, date_from=date_from, date_to=date_to)
