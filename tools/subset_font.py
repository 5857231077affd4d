"""Build the chart and dashboard font (handlers/ledger/font/): Noto Sans CJK SC cut down to what the desk writes.

    pip install fonttools brotli
    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb noto   # Debian's package, not installed
    python tools/subset_font.py noto/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

Kept: ASCII, the GB 2312 symbols and all its 6 763 hanzi (both levels: the rarer second level holds many place and
family names), and every character of the catalogs and demo data files, so a unit or place name is never drawn as an
empty box. The result is a
Modified Version under the SIL Open Font License 1.1 (handlers/ledger/font/OFL.txt): it is renamed "Shishi Sans
Subset" and keeps the upstream copyright; the Reserved Font Name "Source" is not used.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "handlers" / "ledger" / "font" / "ShishiSans-Subset.woff2"
SIMPLIFIED_CHINESE = 2  # the face of NotoSansCJK-Regular.ttc: JP, KR, SC, TC, HK
FAMILY = "Shishi Sans Subset"


def gb2312(rows: range) -> str:
    found = []
    for row in rows:
        for cell in range(0xA1, 0xFF):
            try:
                found.append(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(found)


def wanted() -> str:
    text = {chr(code) for code in range(0x20, 0x7F)}
    text |= set(gb2312(range(0xA1, 0xAA)) + gb2312(range(0xB0, 0xF8)))
    for path in [*ROOT.glob("locales/*/LC_MESSAGES/messages.po"), *ROOT.glob("demo/*.toml")]:
        text |= {ch for ch in path.read_text(encoding="utf-8") if ord(ch) >= 0x20}
    return "".join(sorted(text))


def main(source: str) -> None:
    font = TTCollection(source).fonts[SIMPLIFIED_CHINESE]
    options = subset.Options()
    options.hinting = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    cutter = subset.Subsetter(options)
    cutter.populate(text=wanted())
    cutter.subset(font)
    names = font["name"]
    for record in names.names:
        if record.nameID in (1, 4, 16):
            record.string = FAMILY
        elif record.nameID in (3, 6):
            record.string = FAMILY.replace(" ", "") + "-Regular"
    font.flavor = "woff2"
    font.save(TARGET)
    print(f"{TARGET.relative_to(ROOT)}: {TARGET.stat().st_size:,} bytes, {len(font.getGlyphOrder()):,} glyphs")


if __name__ == "__main__":
    main(sys.argv[1])
