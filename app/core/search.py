"""Full-text search over `search_vector` columns: every word the user typed, matched as a prefix."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.sql.elements import SQLCoreOperations

_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_WORDS = 16


def prefix_tsquery(text: str) -> str | None:
    """A `to_tsquery('simple', ...)` string matching every word of `text` as a prefix
    ("stal tark" finds "Stalker by Tarkovsky"), or None when `text` has no word.

    Only letters and digits survive, so nothing the user types is tsquery syntax.
    """
    words = [w[:100] for w in _WORD.findall(text.lower())][:MAX_QUERY_WORDS]
    return " & ".join(f"{word}:*" for word in words) or None


def matches_text(search_vector: SQLCoreOperations[Any], text: str) -> ColumnElement[bool] | None:
    """`search_vector @@ to_tsquery(...)` for the words of `text`, or None (no filter)."""
    query = prefix_tsquery(text)
    if query is None:
        return None
    return search_vector.op("@@")(func.to_tsquery("simple", query))
