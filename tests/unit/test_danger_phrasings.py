"""Danger is recognised in the words people use (demo/emergency.toml through handlers/conversation/danger.py):
who does what to whom, threats, self-harm, domestic violence — and the everyday phrases that share the characters
("打官司", "杀价", "打我电话") are left alone."""

from __future__ import annotations

import pytest

from bot.app import DEMO_EMERGENCY_WORDS, read_emergency_words
from handlers.conversation.danger import DANGER, DOMESTIC, SELF_HARM, EmergencyWordsError, parse_lexicons, recognise

LEXICONS = read_emergency_words(DEMO_EMERGENCY_WORDS)
NONE: frozenset[str] = frozenset()
D, DV, SH = frozenset({DANGER}), frozenset({DANGER, DOMESTIC}), frozenset({SELF_HARM})

TABLE: list[tuple[str, frozenset[str]]] = [
    # who does what to whom
    ("他拿刀要杀我", D),
    ("他要杀了我", D),
    ("他一直打我", D),
    ("我被打了", D),
    ("昨天晚上我被人打伤了", D),
    ("邻居把孩子打伤了", D),
    ("他们打了我们一顿", D),
    ("他掐我脖子", D),
    ("那个人拿砖头砸我", D),
    ("有人捅了我一刀", D),
    ("他说要弄死我", D),
    ("他威胁要杀了我全家", D),
    ("我挨打了", D),
    ("救命", D),
    ("救救我", D),
    ("有人绑架了我女儿", D),
    ("他拿着刀在门口", D),
    ("Help! Someone has a knife", D),
    ("he is beating me", D),
    ("They want to kill me", D),
    ("I was badly beaten last night", D),
    ("he threatened to kill me", D),
    # domestic violence: a family member doing it, or said outright
    ("老公又打我了", DV),
    ("我老公经常打我", DV),
    ("被老公打了", DV),
    ("我前夫天天打我", DV),
    ("我爸喝了酒就打我们", DV),
    ("家暴", frozenset({DOMESTIC})),
    ("我遭受了家庭暴力", frozenset({DOMESTIC})),
    ("my husband hits me", DV),
    ("this is domestic violence", frozenset({DOMESTIC})),
    # self-harm
    ("我不想活了", SH),
    ("活着没意思，想死", SH),
    ("我想自杀", SH),
    ("他说要跳楼", SH),
    ("我准备吃安眠药", SH),
    ("I want to kill myself", SH),
    ("I don't want to live anymore", SH),
    ("老公打我，我不想活了", DV | SH),
    # the same characters in everyday words: nothing
    ("我想打官司", NONE),
    ("老板跟我杀价", NONE),
    ("商家砍价太狠", NONE),
    ("有事打我电话", NONE),
    ("请打我们电话联系", NONE),
    ("打我的电话就行", NONE),
    ("他一直打我的主意", NONE),
    ("我在外地打工", NONE),
    ("笑死我了", NONE),
    ("累死我了，排了一天队", NONE),
    ("气死我了，他就是不还钱", NONE),
    ("想死你了", NONE),
    ("跳楼价甩卖", NONE),
    ("我打算下个月起诉", NONE),
    ("电脑杀毒", NONE),
    ("他打车走了", NONE),
    ("打扫卫生时发现的", NONE),
    ("我被打扰了好几次", NONE),
    ("他打电话给我说要还钱", NONE),
    ("打听一下立案要什么材料", NONE),
    ("打卡记录可以作证", NONE),
    ("邻居占了我家的地", NONE),
    ("拖欠工资三个月", NONE),
    ("I was fired last month", NONE),
    ("I need help with my wages", NONE),
    ("good skills", NONE),
    ("just killing time", NONE),
    ("hit me up later", NONE),
    ("/help", NONE),
    ("", NONE),
]


def test_the_table_is_large_enough_and_balanced() -> None:
    positive = [t for t, kinds in TABLE if kinds]
    negative = [t for t, kinds in TABLE if not kinds]
    assert len(TABLE) >= 60 and len(positive) >= 30 and len(negative) >= 25


@pytest.mark.parametrize(("text", "kinds"), TABLE)
def test_what_each_phrasing_signals(text: str, kinds: frozenset[str]) -> None:
    assert recognise(text, LEXICONS) == kinds


def test_only_words_is_a_vocabulary_too_and_broken_files_are_refused() -> None:
    only_words = parse_lexicons({"zh_CN": {"words": ["山洪"]}})
    assert recognise("山洪来了", only_words) == D and recognise("他打我", only_words) == NONE
    for broken in (
        {},
        {"en": {"words": []}},
        {"en": {"words": ["ok", " "]}},
        {"en": ["fire"]},
        {"en": {"words": ["fire"], "verbz": ["hit"]}},
        {"en": {"words": ["fire"], "verbs": "hit"}},
    ):
        with pytest.raises(EmergencyWordsError):
            parse_lexicons(broken)
    assert recognise("救命", {}) == D  # nothing configured: the built-in vocabulary
