"""Choices for platforms without buttons (WeChat, SMS): a reply's buttons become numbered lines, and what the person
types back — the number, or the option's words — becomes the choice they picked among those last shown to them.

A prompt whose only buttons move through the interview (skip, back, cancel) numbers nothing: there a typed number is
the answer itself ("2" workers affected), so those buttons are offered by their words instead."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from handlers.conversation.i18n import Translator
from handlers.conversation.messages import Button, Reply

# Buttons that move through an interview rather than answer it (handlers/engine.py nav_row and the help button).
NAVIGATION = frozenset({"nav:skip", "nav:back", "nav:cancel", "help:person"})
ONE_LINE = 40  # characters: a short set of options fits on one line ("回复数字：1 同意  2 不同意")


@dataclass(frozen=True)
class TextMenu:
    numbered: tuple[Button, ...] = ()
    by_words: tuple[Button, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.numbered or self.by_words)

    def pick(self, typed: str) -> str | None:
        """The button data the typed text names, or None when it names none of them (then it is just text)."""
        normal = unicodedata.normalize("NFKC", typed).strip()
        if normal.isdecimal() and self.numbered:
            number = int(normal)
            return self.numbered[number - 1].data if 1 <= number <= len(self.numbered) else None
        wanted = words_of(normal)
        if not wanted:
            return None
        for button in (*self.numbered, *self.by_words):
            if words_of(button.label) == wanted:
                return button.data
        return None


def words_of(text: str) -> str:
    """Letters and digits only, case-folded: '✅ 提交' and '提交' are the same words."""
    normal = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in normal if unicodedata.category(ch)[0] in ("L", "N"))


def menu_of(reply: Reply | Mapping[str, object]) -> TextMenu:
    buttons = tuple((reply if isinstance(reply, Reply) else Reply.from_payload(dict(reply))).all_buttons())
    if not buttons:
        return TextMenu()
    typed = reply.typed if isinstance(reply, Reply) else bool(reply.get("typed"))
    if typed or all(b.data in NAVIGATION for b in buttons):
        return TextMenu(by_words=buttons)
    return TextMenu(numbered=buttons)


def render(reply: Reply, say: Callable[..., str]) -> str:
    """The reply's text with its choices written out; `say(msgid)` speaks the reader's language."""
    menu = menu_of(reply)
    if not menu:
        return reply.text
    if menu.numbered:
        cells = [f"{n} {b.label}" for n, b in enumerate(menu.numbered, 1)]
        line = "  ".join(cells)
        lead = say("text_menu.numbers")
        listed = f"{lead}{line}" if len(line) <= ONE_LINE else lead + "\n" + "\n".join(cells)
    else:
        listed = say("text_menu.words", words=" · ".join(b.label for b in menu.by_words))
    return f"{reply.text}\n\n{listed}" if reply.text else listed


class LocaleGuess:
    """The language a stored reply was written in, told by its button labels (rows keep no locale of their own)."""

    def __init__(self, translator: Translator) -> None:
        self.translator = translator
        self._strings = {code: set(catalog.values()) for code, catalog in translator.catalogs.items()}

    def __call__(self, reply: Reply) -> str:
        labels = [b.label for b in reply.all_buttons()] or [reply.text]
        best, score = self.translator.default, 0
        for code, strings in self._strings.items():
            hits = sum(label in strings for label in labels)
            if hits > score:
                best, score = code, hits
        return best

    def say(self, reply: Reply) -> Callable[..., str]:
        locale = self(reply)
        return lambda msgid, **params: self.translator(locale, msgid, **params)
