"""Email templates: `<name>.txt` (first line `Subject: ...`) and `<name>.html`, rendered with Jinja2.

The subject line is rendered on its own and made one clean line (`one_line`): a name or title
holding a line break cannot end it early and spill the rest into the body, nor reach the header
(app/mail/sender.py cleans every header again). It is cut, at a word, to fit the stored column.

Templates are rendered in the recipient's language: each language has its own environment with
Jinja2's i18n extension (`_`, `ngettext`, `{% trans %}`) bound to its catalog."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from app.core import i18n

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"

# email_message.subject is VARCHAR(300); a longer subject would fail the insert of the whole
# transaction that queues it (a fan-out's notifications with it).
SUBJECT_MAX_CHARS = 300

# Whatever some reader takes for the end of a line, or is a control character: CR, LF, NEL
# (U+0085), LINE and PARAGRAPH SEPARATOR (U+2028/9), tab, vertical tab, form feed, ESC, DEL...
# Spaces are included so that runs collapse to one.
_NOT_ONE_LINE = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029]+")


def one_line(value: str) -> str:
    """`value` as one line of text without control characters (each run becomes one space)."""
    return _NOT_ONE_LINE.sub(" ", value).strip()


def shorten(value: str, limit: int) -> str:
    """`value` cut to at most `limit` characters, at a space if there is one near, with `…`."""
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def subject_line(value: str) -> str:
    return shorten(one_line(value), SUBJECT_MAX_CHARS)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=len(i18n.SUPPORTED))
def _environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


@lru_cache
def _text_templates(template: str, locale: str) -> tuple[Template, Template]:
    """The subject line's template and the text body's, from `<template>.txt`."""
    env = _environment(locale)
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, f"{template}.txt")
    first_line, _, body = source.partition("\n")
    if not first_line.startswith("Subject: "):
        raise ValueError(f"email template {template}.txt must start with 'Subject: '")
    return env.from_string(first_line.removeprefix("Subject: ")), env.from_string(body)


def render_email(template: str, /, *, locale: str = i18n.DEFAULT, **context: Any) -> RenderedEmail:
    """`template` rendered in `locale` (a user's `locale`)."""
    locale = i18n.normalize(locale)
    subject, text = _text_templates(template, locale)
    html = _environment(locale).get_template(f"{template}.html").render(**context)
    return RenderedEmail(
        subject=subject_line(subject.render(**context)),
        text=text.render(**context).lstrip("\n"),
        html=html,
    )
