"""The WeChat channel's translation, without processes: message crypto against wechatpy (an independent
implementation) both ways, the hardened parser, numbered menus, splitting under 2048 bytes, notification fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from wechatpy.crypto import WeChatCrypto

from bot.channels.text_menu import LocaleGuess, menu_of, render
from bot.channels.wechat.crypto import Forged, MessageCrypto
from bot.channels.wechat.notices import fit, load_notices, values_of
from bot.channels.wechat.render import TEXT_LIMIT, passive_text, split_text
from bot.channels.wechat.updates import receive
from bot.channels.wechat.wire import Unreadable, cdata, encrypted_reply, parse, text_reply
from bot.i18n import load_translator
from handlers.conversation.messages import Button, Reply
from tests.channels.wechat.fake_api import APP_ID, TOKEN, message_xml, new_aes_key
from tests.channels.wechat.test_security import LAUGHS, XXE

T = load_translator()
SAY = LocaleGuess(T)


def test_our_encryption_and_wechatpys_read_each_other() -> None:
    key = new_aes_key()
    ours, theirs = MessageCrypto(TOKEN, key, APP_ID), WeChatCrypto(TOKEN, key, APP_ID)
    xml = message_xml("oA", "text", {"Content": "调解 ]]> 纠纷 " * 50, "MsgId": "1"})
    sealed = parse(theirs.encrypt_message(xml, "nonce7", "1764640000").encode())
    assert ours.msg_signature_ok(sealed.get("MsgSignature"), "1764640000", "nonce7", sealed.get("Encrypt"))
    assert ours.decrypt(sealed.get("Encrypt")) == xml
    reply = text_reply("oA", "gh_x", "好的")
    encrypted = ours.encrypt(reply)
    answer = encrypted_reply(encrypted, ours.sign("1764640001", "n8", encrypted), "1764640001", "n8")
    assert theirs.decrypt_message(answer, ours.sign("1764640001", "n8", encrypted), "1764640001", "n8") == reply


def test_a_message_sealed_for_another_account_or_mangled_is_forged() -> None:
    key = new_aes_key()
    ours = MessageCrypto(TOKEN, key, APP_ID)
    other = WeChatCrypto(TOKEN, key, "wxsomeoneelse0000")
    sealed = parse(other.encrypt_message("<xml/>", "n", "1").encode()).get("Encrypt")
    with pytest.raises(Forged, match="AppID"):
        ours.decrypt(sealed)
    for mangled in ("not base64!", sealed[:-8] + "AAAAAAA=", "QUJD"):
        with pytest.raises(Forged):
            ours.decrypt(mangled)
    with pytest.raises(ValueError):
        MessageCrypto(TOKEN, key[:-1], APP_ID)


@pytest.mark.parametrize(
    "hostile", [XXE, LAUGHS, "<xml><a>1</a>", "<notxml/>", "", "<xml>" + "<f>1</f>" * 100 + "</xml>"]
)
def test_the_parser_refuses_what_wechat_never_sends(hostile: str) -> None:
    with pytest.raises(Unreadable):
        parse(hostile.encode())


def test_cdata_carries_any_text_back_intact() -> None:
    tricky = "a ]]> b <xml> &amp; \x00\x07 c 🙂"
    parsed = parse(f"<xml><Content>{cdata(tricky)}</Content></xml>".encode())
    assert parsed.get("Content") == "a ]]> b <xml> &amp;  c 🙂"  # control characters XML cannot carry are dropped


def test_events_are_keyed_by_sender_time_and_kind_messages_by_msgid() -> None:
    text = receive(parse(message_xml("oA", "text", {"Content": "hi", "MsgId": "42"}, created=5).encode()))
    click = receive(
        parse(message_xml("oA", "event", {"Event": "CLICK", "EventKey": "menu:status"}, created=5).encode())
    )
    follow = receive(parse(message_xml("oA", "event", {"Event": "subscribe"}, created=5).encode()))
    view = receive(parse(message_xml("oA", "event", {"Event": "VIEW", "EventKey": "https://x"}, created=5).encode()))
    assert text is not None and text.key == "m:42" and text.window == (5, 48 * 3600)
    assert click is not None and click.key.startswith("e:oA:5:click:") and click.incoming is not None
    assert click.incoming.choice == "menu:status" and click.window == (3, 60)
    assert follow is not None and follow.incoming is not None and follow.incoming.text == "/start"
    assert view is not None and view.incoming is None and view.window is None  # a link opens no window


def reply_with(*labels_and_data: tuple[str, str], text: str = "问题") -> Reply:
    return Reply(text=text, buttons=(tuple(Button(label, data) for label, data in labels_and_data),))


def test_choices_become_numbers_and_typed_numbers_or_words_become_the_choice() -> None:
    consent = reply_with((T("zh_CN", "consent.agree"), "consent:agree"), (T("zh_CN", "consent.decline"), "x:no"))
    written = render(consent, SAY.say(consent))
    assert written.endswith(f"回复数字：1 {T('zh_CN', 'consent.agree')}  2 {T('zh_CN', 'consent.decline')}")
    menu = menu_of(consent)
    assert menu.pick("1") == "consent:agree" and menu.pick("２") == "x:no"  # a full-width digit too
    assert menu.pick("3") is None and menu.pick("0") is None and menu.pick("同意吧") is None
    assert menu.pick(T("zh_CN", "consent.agree")) == "consent:agree"
    submit = reply_with(("✅ 提交", "nav:submit"), ("✏️ 修改", "nav:edit"))
    assert menu_of(submit).pick("提交") == "nav:submit"  # the words without the emoji


def test_a_prompt_whose_buttons_only_move_leaves_numbers_to_the_answer() -> None:
    """'2' workers affected must not press the second button (cancel) of a free-text step."""
    prompt = reply_with(("上一步", "nav:back"), ("取消", "nav:cancel"), text="受影响的工人有多少？")
    menu = menu_of(prompt)
    assert menu.pick("2") is None and menu.pick("取消") == "nav:cancel"
    assert render(prompt, SAY.say(prompt)).endswith("也可以回复：上一步 · 取消")


def test_long_menus_go_one_option_a_line_and_english_in_english() -> None:
    long = reply_with(*[(f"Option number {n}", f"x:{n}") for n in range(1, 8)], text="Pick")
    assert "\n1 Option number 1\n2 Option number 2" in render(long, lambda msgid, **kw: T("en", msgid, **kw))
    english = reply_with((T("en", "consent.agree"), "consent:agree"), (T("en", "consent.decline"), "consent:no"))
    assert SAY(english) == "en" and "Reply with a number:" in render(english, SAY.say(english))


def test_long_text_is_split_under_the_limit_at_line_breaks() -> None:
    paragraph = "第一段：" + "调解" * 300 + "\n" + "Second part " * 100
    chunks = split_text(paragraph * 3)
    assert len(chunks) > 1 and all(len(c.encode()) <= TEXT_LIMIT for c in chunks)
    assert "".join(c.replace("\n", "").replace(" ", "") for c in chunks) == (paragraph * 3).replace("\n", "").replace(
        " ", ""
    )


def test_a_turns_replies_answer_in_one_passive_text_with_only_the_last_choices() -> None:
    first = reply_with(("旧选项", "x:old"), text="第一条")
    last = reply_with(("新选项", "x:new"), text="第二条")
    text = passive_text([first, Reply(text="提示"), last], SAY.say)
    assert text is not None and "旧选项" not in text and text.endswith("1 新选项")
    assert passive_text([Reply(text="长" * 800)], SAY.say) is None  # over 2000 bytes: the API sends it in parts


def test_notification_fields_fit_their_types() -> None:
    assert (
        fit("thing2", "您的工单有新进展：承办人请您补充现场照片和协议原件") == "您的工单有新进展：承办人请您补充现场照…"
    )
    assert fit("character_string1", "HZ-20261202-0007 号") == "HZ-20261202-0007"
    assert len(fit("phrase3", "已受理待办理")) == 5
    payload = Reply(text="您的工单已受理\n详情", notice="accepted",
                    facts={"number": "HZ-20261202-0001", "status": "已受理"}).to_payload()  # fmt: skip
    values = values_of(payload, datetime(2026, 12, 2, 1, 30, tzinfo=UTC), "Asia/Shanghai")
    assert values["number"] == "HZ-20261202-0001" and values["time"] == "2026-12-02 09:30"
    assert values["title"] == "您的工单已受理" and values["status"] == "已受理"


def test_a_row_goes_as_the_template_of_the_notice_it_names_and_no_other() -> None:
    notices = load_notices(None)  # demo/wechat.toml
    for notice in ("accepted", "message", "decision", "callback"):
        template = notices.for_row(Reply(text="x", notice=notice).to_payload())
        assert template is not None and template.name == "ticket_update"
    alert = notices.for_row(Reply(text="x", notice="alert").to_payload())
    assert alert is not None and alert.name == "staff_alert"
    # The text alone says nothing: a reply that mentions a ticket is not a notice, whatever its words.
    assert notices.for_row(Reply(text="您的工单 HZ-20261202-0001 已受理").to_payload()) is None
    assert notices.for_row(Reply(text="x", notice="something_else").to_payload()) is None
