"""Scans what the desk leaves behind — database files, their WAL, the data directory, a process's log, a pg_dump —
for values a citizen gave, in every form they could sit there in plain text (issue #16's proof).

A value is looked for as typed, as its bare digits and grouped with spaces or dashes (139 1234 5678), and each of
those as JSON writes it (non-ASCII as \\uXXXX, either case) and as pg_dump's COPY writes that (backslashes doubled).
Values should be distinctive: a four-digit number may turn up by chance inside base64, eleven digits will not.

    found = scan(SECRETS, paths=[bot.data_dir, bot.log_path], texts={"pg_dump": pg_dump(url)})
    assert not found, found
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

_NOT_DIGIT = re.compile(r"\D")
GROUPINGS: Mapping[int, tuple[tuple[int, ...], ...]] = {
    11: ((3, 4, 4),),  # a mobile number: 139 1234 5678
    12: ((4, 8), (4, 4, 4)),  # a landline with its area code: 0916 2345678
    16: ((4, 4, 4, 4),),  # a bank card
    18: ((6, 8, 4), (6, 4, 4, 4)),  # an ID number: 610702 19900307 1234
    19: ((4, 4, 4, 4, 3), (6, 13)),
}


@dataclass(frozen=True)
class Finding:
    where: str
    value: str
    form: str

    def __str__(self) -> str:
        return f"{self.value!r} found as {self.form!r} in {self.where}"


def _grouped(digits: str, sizes: Iterable[int], sep: str) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at : at + size])
        at += size
    if at < len(digits):
        parts.append(digits[at:])
    return sep.join(p for p in parts if p)


def _escaped(form: str) -> set[str]:
    """As JSON writes it (ensure_ascii), with upper-case hex too, and as pg_dump's COPY writes those."""
    inner = json.dumps(form)[1:-1]
    shown = {form, inner, re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), inner)}
    return shown | {s.replace("\\", "\\\\") for s in shown if "\\" in s}


def forms_of(value: str) -> set[str]:
    """Every plain form `value` could be found in."""
    forms = {value, value.strip()}
    digits = _NOT_DIGIT.sub("", value)
    if len(digits) >= 7 and len(digits) * 2 > len(value.strip()):  # a number, however it was typed
        forms.add(digits)
        if digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
            forms |= {digits, "+86" + digits}
        sizes = [*GROUPINGS.get(len(digits), ()), tuple([4] * (len(digits) // 4))]
        for grouping in sizes:
            for sep in (" ", "-"):
                forms.add(_grouped(digits, grouping, sep))
    found: set[str] = set()
    for form in forms:
        if form:
            found |= _escaped(form)
    return found


def scan_bytes(where: str, data: bytes, values: Iterable[str]) -> list[Finding]:
    found = []
    for value in values:
        for form in sorted(forms_of(value)):
            if form.encode("utf-8") in data:
                found.append(Finding(where, value, form))
    return found


def files_under(paths: Iterable[Path]) -> list[Path]:
    """The files themselves, and every file under the directories (SQLite's -wal and -shm, uploads, keys)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.exists():
            found.append(path)
        for sibling in ("-wal", "-shm", "-journal"):
            extra = path.with_name(path.name + sibling)
            if path.is_file() and extra.exists():
                found.append(extra)
    return list(dict.fromkeys(found))


def scan(
    values: Iterable[str], *, paths: Iterable[Path] = (), texts: Mapping[str, str | bytes] | None = None
) -> list[Finding]:
    """Each value in each of its forms, in every file under `paths` and in each named text."""
    wanted = [v for v in values if v]
    found: list[Finding] = []
    for path in files_under(paths):
        found.extend(scan_bytes(str(path), path.read_bytes(), wanted))
    for name, text in (texts or {}).items():
        found.extend(scan_bytes(name, text.encode("utf-8") if isinstance(text, str) else text, wanted))
    return found


def plain_url(url: str) -> str:
    """postgresql+asyncpg://… → postgresql://… (what libpq's tools take)."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def pg_dump(url: str) -> bytes:
    """The whole database, schema and data, as pg_dump's plain SQL."""
    done = subprocess.run(["pg_dump", "--no-owner", plain_url(url)], capture_output=True, check=True, timeout=120)
    return done.stdout
