"""The languages the product speaks (English and Russian) and how a request's language is chosen.

One translation layer for everything a person reads: web pages, emails, notification texts and the
API's error `detail` (codes never change). The message catalogs live in app/locale/<lang>/LC_MESSAGES.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, NamedTuple
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale
from babel.dates import format_datetime
from babel.support import Translations
from fastapi import Depends, Header

SUPPORTED = ("en", "ru")
DEFAULT = "en"
CATALOGS = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"


def normalize(locale: str | None) -> str:
    """A supported language from a tag such as `ru-RU` or `en_GB`, else the default."""
    if locale:
        language = locale.replace("-", "_").split("_")[0].strip().lower()
        if language in SUPPORTED:
            return language
    return DEFAULT


def negotiate(accept_language: str | None) -> str:
    """The best supported language for an `Accept-Language` header (q-values honoured)."""
    if not accept_language:
        return DEFAULT
    preferred: list[tuple[float, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            preferred.append((-quality + position * 1e-6, tag.strip().replace("-", "_")))
    tags = [tag for _, tag in sorted(preferred)]
    chosen = negotiate_locale(tags, list(SUPPORTED), sep="_") or negotiate_locale(
        [t.split("_")[0] for t in tags], list(SUPPORTED), sep="_"
    )
    return normalize(chosen)


@lru_cache(maxsize=len(SUPPORTED))
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalog of `locale` (English falls back to the message ids themselves)."""
    found = Translations.load(str(CATALOGS), [normalize(locale)], domain=DOMAIN)
    return found if isinstance(found, Translations) else gettext.NullTranslations()


def babel_locale(locale: str) -> Locale:
    try:
        return Locale.parse(normalize(locale))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def N_(message: str) -> str:
    """Marks `message` for the catalogs without translating it (it is translated when shown)."""
    return message


class Plural(NamedTuple):
    """A message with a singular and a plural msgid, chosen by ngettext for a count."""

    singular: str
    plural: str


def N_plural(singular: str, plural: str) -> Plural:
    """Marks a plural message for the catalogs (`make messages` passes `-k N_plural:1,2`)."""
    return Plural(singular, plural)


def request_locale(
    accept_language: Annotated[
        str | None,
        Header(description="`ru` or `en` (the default): the language of error messages"),
    ] = None,
) -> str:
    """The request's language, from its `Accept-Language` header."""
    return negotiate(accept_language)


RequestLocale = Annotated[str, Depends(request_locale)]


# A meetup's wall-clock time: `Friday 14 March 2026, 19:00` (Russian: weekday, day, month in the
# genitive, year, time).
_DATETIME_PATTERNS = {"en": "EEEE d MMMM y, HH:mm", "ru": "EEEE, d MMMM y, HH:mm"}


@dataclass(frozen=True)
class Words:
    """Texts in one language: `_` and `ngettext` translate (pybabel extracts their literal
    arguments) and then fill `{name}` placeholders; `datetime` formats a moment with Babel."""

    locale: str

    @property
    def catalog(self) -> gettext.NullTranslations:
        return translations(self.locale)

    def _(self, message: str, /, **values: Any) -> str:
        text = self.catalog.gettext(message)
        return text.format(**values) if values else text

    gettext = _

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """The plural form of `n` (Russian has three); `{n}` is `n`."""
        return self.catalog.ngettext(singular, plural, n).format(n=n, **values)

    def datetime(self, moment: datetime, zone: ZoneInfo) -> str:
        """`moment` on the wall clock of `zone`, with the zone's name: `... 19:00 (Europe/Moscow)`."""
        pattern = _DATETIME_PATTERNS.get(self.locale, _DATETIME_PATTERNS[DEFAULT])
        local = format_datetime(moment, pattern, tzinfo=zone, locale=babel_locale(self.locale))
        return f"{local} ({zone.key})"


def words(locale: str | None) -> Words:
    return Words(normalize(locale))
