"""The languages the product speaks (English and Russian) and how a request's language is chosen.

One translation layer for everything a person reads: web pages, emails, notification texts and the
API's error `detail` (codes never change). The message catalogs live in app/locale/<lang>/LC_MESSAGES.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale
from babel.support import Translations

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
