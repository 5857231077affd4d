"""`python -m bot.diagram`: redraw the interviews' Mermaid diagram in docs/interviews.md and README.md."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.i18n import load_translator
from handlers.interviews import INTERVIEWS
from handlers.interviews.diagram import mermaid

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- interviews-diagram:begin -->", "<!-- interviews-diagram:end -->"
TARGETS = (ROOT / "docs" / "interviews.md", ROOT / "README.md")


def block() -> str:
    translate = load_translator()
    chart = mermaid([i for i in INTERVIEWS.values() if i.in_menu], lambda msgid: translate("en", msgid))
    return f"{BEGIN}\n```mermaid\n{chart}```\n{END}"


def refreshed(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + block() + text[end:]


def main() -> int:
    for path in TARGETS:
        text = path.read_text(encoding="utf-8")
        new = refreshed(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"redrew {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
