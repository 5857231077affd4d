"""The guide's search reads a text once, whatever the size of the vocabulary: a 450 KB message once cost seconds of
event loop because every English phrase of the vocabulary re-read the whole text."""

from __future__ import annotations

import pytest

from handlers.outreach import search
from handlers.outreach.search import Vocabulary


def vocabulary(groups: int) -> Vocabulary:
    synonyms = [[f"phrase {n} word", f"短语{n}"] for n in range(groups)]
    return Vocabulary.build(["the", "的"], synonyms, {"xixiang": ["西乡", "Xixiang County"]})


def test_synonyms_and_counties_are_found_in_chinese_and_english() -> None:
    words = vocabulary(3)
    query = words.query("I need phrase 1 words in Xixiang county 短语2")
    assert len(query.groups) == 2 and words.counties_in("西乡 新车上户") == {"xixiang"}
    assert words.counties_in("xixiang is a county") == set()  # the whole phrase, word by word


@pytest.mark.parametrize("groups", [10, 200])
def test_a_long_text_is_read_once_however_many_phrases_ask(monkeypatch: pytest.MonkeyPatch, groups: int) -> None:
    calls: list[int] = []
    original = search.words_of

    def counting(text: str) -> list[str]:
        calls.append(len(text))
        return original(text)

    monkeypatch.setattr(search, "words_of", counting)
    text = "word " * 20_000  # 100 000 characters
    vocabulary(groups).query(text)
    long_reads = [n for n in calls if n >= len(text)]
    assert long_reads == [len(text)]  # the text once; every other read is a short phrase
