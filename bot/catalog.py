"""Every message id the code uses, and the template `make i18n` updates the catalogs from.

`python -m bot.catalog [locales/messages.pot]` extracts the literal ids (calls of `_`, `t`, `say`, `button`, the
keywords `pybabel extract -k` was given), adds the dotted literals that name a catalog namespace (a
Rejected("input.…"), a Step(ask="…")) and the ids built from tables at run time (handlers/catalog_ids.py), and
writes them in the catalogs' own order, new ids at the end, so `pybabel update` leaves the entries where they are.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.i18n import LOCALES
from handlers.catalog_ids import dynamic_ids
from handlers.conversation.i18n import SUPPORTED

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bot", "handlers")
KEYWORDS = ("_", "t", "say", "button")
FILE_TYPES = {"toml", "py", "json", "po", "pot", "mo", "html", "js", "css", "svg", "db", "txt", "md"}
DOTTED = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+")


def catalog_ids(locale: str = SUPPORTED[0], root: Path = LOCALES) -> list[str]:
    with (root / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return [str(m.id) for m in read_po(handle, locale=locale) if m.id]


def _python_files(sources: Iterable[str]) -> Iterable[tuple[Path, ast.AST]]:
    for source in sources:
        for path in sorted((ROOT / source).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def extracted_ids(sources: Iterable[str] = SOURCES) -> dict[str, str]:
    """Literal first arguments of `_`, `t`, `say` and `button` calls → where the first one is.

    The same keywords `pybabel extract -k` would take, read from the syntax tree: Babel's tokenizer joins the two
    literals of `t("a" if x else "b")` into one id that does not exist.
    """
    found: dict[str, str] = {}
    for path, tree in _python_files(sources):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            first = node.args[0]
            if name in KEYWORDS and isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
                found.setdefault(first.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def dotted_literals(namespaces: set[str], sources: Iterable[str] = SOURCES) -> dict[str, str]:
    """String constants shaped like `namespace.key` whose namespace the catalogs use → where the first one is.

    Prefixes of whole families (`"dispute.cat"` for `dispute.cat.<code>`) and file names are not ids.
    """
    known = catalog_ids()
    families = {msgid.rsplit(".", 1)[0] for msgid in known if "." in msgid}
    found: dict[str, str] = {}
    for path, tree in _python_files(sources):
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.fullmatch(node.value)):
                continue
            value = node.value
            if value.split(".", 1)[0] not in namespaces or value.rsplit(".", 1)[1] in FILE_TYPES:
                continue
            if value in families and value not in known:
                continue
            found.setdefault(value, f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}")
    return found


def used_ids() -> dict[str, str]:
    """Every id the code may ask a catalog for → where it comes from."""
    known = catalog_ids()
    namespaces = {msgid.split(".", 1)[0] for msgid in known if "." in msgid}
    used = {msgid: "built from tables (handlers/catalog_ids.py)" for msgid in dynamic_ids()}
    used.update(dotted_literals(namespaces))
    used.update(extracted_ids())
    return used


def template() -> Catalog:
    """The catalogs' ids in their order, then ids the code uses that no catalog has yet; none is ever dropped."""
    pot = Catalog(project="shishi", version="0.1", fuzzy=False)
    order = catalog_ids()
    for msgid in [*order, *sorted(set(used_ids()) - set(order))]:
        pot.add(msgid)
    return pot


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else LOCALES / "messages.pot"
    with target.open("wb") as handle:
        write_po(handle, template(), omit_header=True, width=0)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
