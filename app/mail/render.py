"""Email templates: `<name>.txt` (first line `Subject: ...`) and `<name>.html`, rendered with Jinja2."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_email(template: str, /, **context: Any) -> RenderedEmail:
    env = _environment()
    text = env.get_template(f"{template}.txt").render(**context)
    first_line, _, body = text.partition("\n")
    if not first_line.startswith("Subject: "):
        raise ValueError(f"email template {template}.txt must start with 'Subject: '")
    html = env.get_template(f"{template}.html").render(**context)
    return RenderedEmail(
        subject=first_line.removeprefix("Subject: ").strip(), text=body.lstrip("\n"), html=html
    )
