"""One validation layer for what clients send: text without control characters, datetimes and
dates within a sane range.

PostgreSQL `text` cannot hold NUL, a UTF-8 encoder cannot encode a lone surrogate, and Python's
datetime overflows near year 1 and year 9999: each of those once reached the database or the date
arithmetic and came back as a 500. These annotated types refuse them at the edge instead, as
FastAPI's 422 naming the field, with a message that says what was wrong and where.

- `SingleLineText`: names, titles, locations, tags, search words, tokens. No control character at
  all (C0 including TAB, CR and LF, DEL, C1), no Unicode line or paragraph separator (U+2028,
  U+2029), no lone surrogate (pydantic's `str` refuses those already; the check repeats it for
  any caller of `single_line` outside a model).
- `MultiLineText`: bios, descriptions, messages, comments, reasons. Like `SingleLineText`, but
  LF, CR LF and TAB are allowed (and U+2028/U+2029); a CR must be followed by an LF.
- `BoundedDatetime`: an aware datetime between `MIN_DATETIME` and `MAX_DATETIME` (UTC).
- `BoundedDate`: a date between the same bounds.

Length limits stay with each field (`StringConstraints`/`Field(max_length=...)`), before the check:
`Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), SINGLE_LINE]`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field
from pydantic_core import PydanticCustomError

# C0 controls (TAB, LF and CR included), DEL, C1 controls, U+2028/U+2029, lone surrogates.
_SINGLE_LINE_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# The same without TAB and LF, and a CR only when it is not the start of a CR LF.
_MULTI_LINE_REFUSED = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]|\r(?!\n)")

MIN_DATETIME = datetime(1900, 1, 1, tzinfo=UTC)
MAX_DATETIME = datetime(2200, 1, 1, tzinfo=UTC)
MIN_DATE = MIN_DATETIME.date()
MAX_DATE = MAX_DATETIME.date()


def _refuse(match: re.Match[str], rule: str) -> PydanticCustomError:
    character = match.group()[0]
    return PydanticCustomError(
        "control_character",
        rule + ": found {character} at position {position}",
        {"character": f"U+{ord(character):04X}", "position": match.start()},
    )


def single_line(value: str) -> str:
    """Refuse every control character, line break and lone surrogate."""
    match = _SINGLE_LINE_REFUSED.search(value)
    if match is not None:
        raise _refuse(match, "must be a single line without control characters")
    return value


def multi_line(value: str) -> str:
    """Refuse control characters other than LF, CR LF and TAB, and lone surrogates."""
    match = _MULTI_LINE_REFUSED.search(value)
    if match is not None:
        raise _refuse(
            match, "must not contain control characters other than line breaks (LF, CR LF) and tabs"
        )
    return value


def bounded_datetime(value: datetime) -> datetime:
    """Refuse an instant outside MIN_DATETIME..MAX_DATETIME (comparing aware datetimes never
    overflows, unlike converting one near year 1 or 9999 to UTC)."""
    if not MIN_DATETIME <= value <= MAX_DATETIME:
        raise PydanticCustomError(
            "datetime_out_of_range",
            "must be between {min} and {max}",
            {"min": MIN_DATETIME.isoformat(), "max": MAX_DATETIME.isoformat()},
        )
    return value


def bounded_date(value: date) -> date:
    """Refuse a day outside MIN_DATE..MAX_DATE (so that day arithmetic cannot overflow)."""
    if isinstance(value, datetime) or not MIN_DATE <= value <= MAX_DATE:
        raise PydanticCustomError(
            "date_out_of_range",
            "must be a date between {min} and {max}",
            {"min": MIN_DATE.isoformat(), "max": MAX_DATE.isoformat()},
        )
    return value


# The checks as metadata, to put after a field's own constraints (so that a stripped string is
# checked, and a too-long one gets pydantic's own message):
# `Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), SINGLE_LINE]`.
SINGLE_LINE = AfterValidator(single_line)
MULTI_LINE = AfterValidator(multi_line)
SingleLineText = Annotated[str, SINGLE_LINE]
MultiLineText = Annotated[str, MULTI_LINE]
BoundedDatetime = Annotated[
    AwareDatetime,
    AfterValidator(bounded_datetime),
    Field(description="ISO 8601 with an offset, between 1900-01-01 and 2200-01-01 UTC"),
]
BoundedDate = Annotated[
    date,
    AfterValidator(bounded_date),
    Field(description="A date between 1900-01-01 and 2200-01-01"),
]
