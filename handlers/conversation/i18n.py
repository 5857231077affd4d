"""Message lookup in the person's language; catalogs are loaded by bot/ and handed in as plain mappings."""

from __future__ import annotations

from collections.abc import Mapping

SUPPORTED = ("zh_CN", "en")


class Translator:
    def __init__(self, catalogs: Mapping[str, Mapping[str, str]], default: str = "zh_CN") -> None:
        self.catalogs = catalogs
        self.default = default

    def __call__(self, locale: str, msgid: str, **params: object) -> str:
        text = self.catalogs.get(locale, {}).get(msgid) or self.catalogs.get(self.default, {}).get(msgid) or msgid
        return text.format(**params) if params else text

    def locale_for(self, hint: str | None) -> str:
        """Telegram's language_code or the browser's Accept-Language, reduced to a supported locale."""
        if not hint:
            return self.default
        for part in hint.replace("-", "_").split(","):
            tag = part.split(";")[0].strip().lower()
            if tag.startswith("zh"):
                return "zh_CN"
            if tag.startswith("en"):
                return "en"
        return self.default
