"""The scanner of issue #16's proof finds a value in each plain form it may be stored in, and not in sealed text."""

from __future__ import annotations

import json
from pathlib import Path

from storage.crypto import FieldCipher
from tests.support.scan import forms_of, scan

PHONE = "13912345678"
ID_NUMBER = "11010519491231002X"
STORY = "邻居的电话是十三号"


def test_forms_of_a_phone_include_its_groupings_and_country_code() -> None:
    forms = forms_of("+86 139 1234 5678")
    assert {PHONE, "139 1234 5678", "139-1234-5678", "+8613912345678"} <= forms


def test_every_form_is_found_where_it_is_written(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "uploads").mkdir(parents=True)
    (data / "shishi.db").write_bytes(b"...")
    (data / "shishi.db-wal").write_bytes(("x" + json.dumps({"d": STORY})).encode())  # \uXXXX escapes
    (data / "uploads" / "a.txt").write_text("call 139-1234-5678", encoding="utf-8")
    dump = "COPY t (v) FROM stdin;\n" + json.dumps({"id": ID_NUMBER}).replace("\\", "\\\\") + "\n"
    found = scan([PHONE, STORY, ID_NUMBER], paths=[data], texts={"pg_dump": dump})
    assert {(Path(f.where).name, f.value) for f in found} == {
        ("shishi.db-wal", STORY),
        ("a.txt", PHONE),
        ("pg_dump", ID_NUMBER),
    }


def test_sealed_values_are_not_found(tmp_path: Path) -> None:
    cipher = FieldCipher.from_secret("scan-test-secret")
    sealed = tmp_path / "sealed.json"
    sealed.write_text(json.dumps([cipher.encrypt(v) for v in (PHONE, STORY, ID_NUMBER)]), encoding="utf-8")
    assert scan([PHONE, STORY, ID_NUMBER], paths=[sealed]) == []
