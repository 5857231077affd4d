"""Loads the Babel catalogs under locales/ into the plain mappings handlers/ translates with."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from handlers.conversation.i18n import SUPPORTED, Translator

LOCALES = Path(__file__).resolve().parent.parent / "locales"


def load_catalogs(root: Path = LOCALES) -> dict[str, dict[str, str]]:
    catalogs: dict[str, dict[str, str]] = {}
    for code in SUPPORTED:
        with (root / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            catalog = read_po(handle, locale=code)
        catalogs[code] = {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}
    return catalogs


def load_translator(default: str = "zh_CN") -> Translator:
    return Translator(load_catalogs(), default=default)
