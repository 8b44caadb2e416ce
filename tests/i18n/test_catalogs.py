"""The committed catalogs are current: every message extracted from the code now is in the Russian
catalog with a translation (all plural forms), and each committed .mo is its .po compiled. Run
`make messages` (then translate) when this fails."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app.core import i18n

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "N_plural": (1, 2),
}


def _extracted() -> set[str]:
    method_map, options_map = parse_mapping_cfg((ROOT / "babel.cfg").open())
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog(lang: str):  # type: ignore[no-untyped-def]
    path = i18n.CATALOGS / lang / "LC_MESSAGES" / "messages.po"
    return read_po(path.open("rb"), locale=lang)


def test_every_extracted_message_has_a_russian_translation() -> None:
    ru = _catalog("ru")
    extracted = _extracted()
    assert extracted, "nothing extracted: is babel.cfg right?"
    missing = []
    for msgid in sorted(extracted):
        message = ru.get(msgid)
        strings = message.string if message else None
        if isinstance(strings, tuple):
            complete = len(strings) == ru.num_plurals and all(strings)
        else:
            complete = bool(strings)
        if not complete:
            missing.append(msgid)
    assert not missing, f"untranslated in ru (run `make messages`, translate): {missing}"


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_the_committed_mo_is_the_po_compiled(lang: str) -> None:
    compiled = BytesIO()
    write_mo(compiled, _catalog(lang))
    mo = i18n.CATALOGS / lang / "LC_MESSAGES" / "messages.mo"
    assert mo.read_bytes() == compiled.getvalue(), f"{mo} is stale: run `make messages`"


@pytest.mark.parametrize(
    ("n", "seats"),
    [(1, "1 место"), (2, "2 места"), (5, "5 мест"), (21, "21 место"), (11, "11 мест")],
)
def test_russian_plural_forms_of_seats(n: int, seats: str) -> None:
    assert i18n.words("ru").ngettext("{n} seat", "{n} seats", n) == seats


def test_english_plural_forms_of_seats() -> None:
    en = i18n.words("en")
    assert [en.ngettext("{n} seat", "{n} seats", n) for n in (1, 2, 5)] == [
        "1 seat",
        "2 seats",
        "5 seats",
    ]
