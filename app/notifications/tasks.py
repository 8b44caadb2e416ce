"""arq jobs of the notifications domain (idempotent; they take ids and open their own session)."""

from __future__ import annotations

from typing import Any

FUNCTIONS: list[Any] = []


async def sweep(ctx: dict[str, Any]) -> None:
    """Called by the worker's minute sweep: enqueue whatever the database says is due."""
