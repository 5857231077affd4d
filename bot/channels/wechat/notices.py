"""Subscription notifications (订阅通知) as data: which template carries which notice (a row's `notice`: accepted,
message, decision, callback, alert), and how the row's facts fill the template's fields, cut to what each field type
accepts (demo/wechat.toml)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

DEMO_NOTICES = Path(__file__).resolve().parents[3] / "demo" / "wechat.toml"
# What a template field of each type takes (WeChat refuses a notification whose value does not fit its field).
LIMITS = {"thing": 20, "phrase": 5, "name": 10, "character_string": 32, "number": 32, "letter": 32, "symbol": 5}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class NoticeDataError(ValueError):
    pass


@dataclass(frozen=True)
class Template:
    name: str
    id: str
    data: Mapping[str, str]  # field key → "{value}" pattern
    notices: tuple[str, ...] = ()  # the notices it carries
    long_term: bool = False
    page: str = ""

    def fill(self, values: Mapping[str, str]) -> dict[str, dict[str, str]]:
        return {key: {"value": fit(key, _PLACEHOLDER.sub(lambda m: values.get(m[1], ""), pattern))}
                for key, pattern in self.data.items()}  # fmt: skip


@dataclass(frozen=True)
class Notices:
    templates: tuple[Template, ...] = ()
    by_id: Mapping[str, Template] = field(default_factory=dict)

    def for_row(self, payload: Mapping[str, Any]) -> Template | None:
        """The template that carries this row when the window is closed; None: the row names no notice, or no
        template carries its notice (it goes another way, or waits for the follower)."""
        notice = payload.get("notice")
        if not notice:
            return None
        return next((t for t in self.templates if notice in t.notices), None)

    def long_term(self, template_id: str) -> bool:
        template = self.by_id.get(template_id)
        return template is not None and template.long_term


def field_type(key: str) -> str:
    return re.sub(r"\d+$", "", key)


def fit(key: str, value: str) -> str:
    """A value cut to its field's type: one line, within the type's length."""
    kind = field_type(key)
    one_line = " ".join(value.split())
    if kind in ("character_string", "letter", "symbol", "number"):
        one_line = re.sub(r"[^\x21-\x7e]", "", one_line)
    limit = LIMITS.get(kind)
    if limit is not None and len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…" if kind in ("thing", "name") else one_line[:limit]
    return one_line


def values_of(payload: Mapping[str, Any], now: datetime, zone: str) -> dict[str, str]:
    """What a template's fields may name: the row's facts (number, status), its first line as {title}, all of it as
    {text}, and {time}, now in the desk's time zone."""
    text = str(payload.get("text") or "")
    title = next((line.strip() for line in text.splitlines() if line.strip()), "")
    values = {"title": title, "text": text, "number": "", "status": "",
              "time": now.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")}  # fmt: skip
    facts = payload.get("facts") or {}
    if isinstance(facts, Mapping):
        values.update({str(k): str(v) for k, v in facts.items()})
    return values


def load_notices(path: Path | None) -> Notices:
    source = path or DEMO_NOTICES
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise NoticeDataError(f"{source}: {error}") from error
    templates = []
    for number, raw in enumerate(data.get("template", []), 1):
        if not isinstance(raw, dict) or not raw.get("id") or not raw.get("name"):
            raise NoticeDataError(f"{source}: template {number} needs a name and an id")
        fields = raw.get("data") or {}
        if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
            raise NoticeDataError(f"{source}: template {raw['name']}: data maps field keys to text")
        templates.append(
            Template(
                name=str(raw["name"]),
                id=str(raw["id"]),
                data=dict(fields),
                notices=tuple(str(k) for k in raw.get("notices", [])),
                long_term=bool(raw.get("long_term", False)),
                page=str(raw.get("page", "")),
            )
        )
    return Notices(tuple(templates), {t.id: t for t in templates})
