"""Officers see what the citizen told us: for each ticket kind a citizen answers every question (optional ones too),
and the officer who claims it finds every answer on the ticket's details, under its question's label, in the
officer's own language; sensitive answers only for the officer handling it and the unit's leader; townships by name;
photos and voice notes listed and opened into the officer's own chat. The resolution notice carries the officer's
result; a rejection says where else to turn."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from handlers.conversation.engine import label_of
from handlers.conversation.interview import CONFIRM
from handlers.conversation.messages import Reply
from handlers.conversation.turn import State
from handlers.interviews import INTERVIEWS
from storage.models import AuditEntry, Conversation, Ticket
from tests.conftest import Chat, DeskDriver, buttons
from tests.support.intake_walks import VALID_ID, load_demo_units
from tests.support.officer_world import join, person_of

FILE_NAME = "王小明身份证正反面.pdf"  # a file's name can say whose it is: sealed on the ticket (#16)
EVIDENCE = [("photo", "tg-photo-1"), ("voice", "tg-voice-1"), ("document", f"tg-doc-1|{FILE_NAME}"), ("press", "done")]

Act = tuple[str, str]  # ("press", data) | ("say", text) | ("photo", ref) | ("voice", ref)


@dataclass
class Kind:
    """One interview walked with an answer for every step: key → what the citizen does, and what the officer's card
    must show for it (None: the step is said elsewhere on the card — county, phone, category, the files)."""

    interview: str
    unit: str
    answers: dict[str, tuple[list[Act], str | None]]
    sensitive: tuple[str, ...] = ()
    place: str = ""
    files: int = 0
    extra: list[str] = field(default_factory=list)  # more the card must say (the legal-aid assessment)


DESCRIPTION = "邻居把界桩往我家地里挪了两米，协商了几次都不成"
PHONE: tuple[list[Act], str | None] = ([("say", "13800138000")], None)


def kinds(t: dict[str, str]) -> list[Kind]:
    """The cases, with expected texts in the officer's language (English here: the citizens write Chinese)."""
    return [
        Kind(
            "dispute",
            "xixiang-so-sidu",
            {
                "category": ([("press", "land")], None),
                "county": ([("press", "xixiang")], None),
                "township": ([("press", "sidu")], None),
                "description": ([("say", DESCRIPTION)], DESCRIPTION),
                "other_party": ([("say", "邻居王某，住隔壁")], "邻居王某，住隔壁"),
                "evidence": (EVIDENCE, None),
                "phone": PHONE,
                "contact_time": ([("press", "morning")], t["common.contact_time.morning"]),
            },
            place=f"{t['county.xixiang']} {t['township.xixiang.sidu']}",
            files=3,
        ),
        Kind(
            "concern",
            "hantai-police",
            {
                "category": ([("press", "fraud")], None),
                "fraud_when": ([("say", "2026-11-20")], "2026-11-20"),
                "fraud_amount": ([("press", "sensitive:agree"), ("say", "5000元")], "5,000"),
                "fraud_paid": ([("press", "bank_transfer")], t["concern.paid.bank_transfer"]),
                "fraud_suspect": ([("say", "6222 0000 1111 2222")], "6222 0000 1111 2222"),
                "county": ([("press", "hantai")], None),
                "description": ([("say", "对方冒充客服让我转账退款，转了之后就联系不上了")], "冒充客服"),
                "phone": PHONE,
            },
            sensitive=("fraud_amount",),
        ),
        Kind(
            "concern",
            "hantai-legalaid",
            {
                "category": ([("press", "wages")], None),
                "wages_employer": ([("say", "汉台区某建筑劳务公司")], "汉台区某建筑劳务公司"),
                "wages_workers": ([("say", "30")], "30"),
                "wages_amount": ([("say", "200000")], "200,000"),
                "wages_since": ([("say", "2026-08-01")], "2026-08-01"),
                "county": ([("press", "hantai")], None),
                "description": ([("say", "工程完工三个月了，包工头一直拖着不发工资")], "包工头一直拖着"),
                "phone": PHONE,
            },
        ),
        Kind(
            "concern",
            "hantai-court",
            {
                "category": ([("press", "enforcement")], None),
                "case_number": ([("say", "（2025）陕0702执123号")], "（2025）陕0702执123号"),
                "court": ([("press", "hantai")], t["court.hantai"]),
                "county": ([("press", "hantai")], None),
                "description": ([("say", "判决生效一年了，对方名下有车却一直不执行")], "一直不执行"),
                "phone": PHONE,
            },
        ),
        Kind(
            "legal_aid",
            "hantai-legalaid",
            {
                "matter": ([("press", "support")], None),
                "county": ([("press", "hantai")], None),
                "description": ([("say", "离婚后前夫两年没给孩子抚养费，我想起诉")], "两年没给孩子抚养费"),
                "special": ([("press", "none")], t["legal_aid.special.none"]),
                "age": ([("press", "sensitive:agree"), ("press", "adult")], t["legal_aid.age.adult"]),
                "group": ([("press", "none")], t["legal_aid.group.none"]),
                "card": ([("press", "no")], t["common.no"]),
                "income": ([("press", "below")], t["legal_aid.income.below"]),
                "id_number": ([("say", VALID_ID)], "1101**********002X"),
                "phone": PHONE,
            },
            sensitive=("age", "group", "card", "income", "id_number"),
            extra=[t["desk.assessment.likely"], "Art. 31+41"],
        ),
        Kind(
            "relief",
            "hantai-court",
            {
                "county": ([("press", "hantai")], None),
                "description": ([("say", "丈夫车祸去世，肇事者没有赔偿能力，家里没有收入")], "肇事者没有赔偿能力"),
                "stage": ([("press", "trial")], t["relief.stage.trial"]),
                "authority": ([("press", "court")], t["relief.authority.court"]),
                "family": (
                    [("press", "sensitive:agree"), ("press", "lost_breadwinner")],
                    t["relief.family.lost_breadwinner"],
                ),
                "phone": PHONE,
            },
            sensitive=("family",),
        ),
        Kind(
            "service",
            "hantai-justice",
            {
                "help": ([("press", "home_visit")], None),
                "county": ([("press", "hantai")], None),
                "where": ([("say", "汉台区北关街道东大街12号3栋2单元")], "东大街12号3栋2单元"),
                "when": ([("press", "weekday_morning")], t["service.when.weekday_morning"]),
                "needs": ([("say", "老人腿脚不便，需要上门办理公证")], "需要上门办理公证"),
                "phone": PHONE,
            },
        ),
    ]


async def _state(driver: DeskDriver, chat: Chat) -> State:
    person = await person_of(driver, chat)
    async with driver.db.reading() as uow:
        row = (await uow.session.execute(select(Conversation).where(Conversation.person_id == person))).scalar_one()
        return State.from_json(uow.conversations.unseal(row))


async def _do(driver: DeskDriver, chat: Chat, act: Act) -> list[Reply]:
    verb, value = act
    if verb == "press":
        return await driver.press(chat, value)
    if verb in ("photo", "voice", "document"):
        from handlers.conversation.messages import Attachment

        ref, _, name = value.partition("|")
        return await driver.send(chat, attachments=(Attachment(kind=verb, ref=ref, name=name or None),))
    return await driver.say(chat, value)


async def walk_every_step(driver: DeskDriver, chat: Chat, case: Kind) -> Ticket:
    """Answer each step as it comes with the case's actions; every step the interview asks must have some."""
    await driver.press(chat, f"menu:{case.interview}")
    asked: list[str] = []
    for _ in range(30):
        state = await _state(driver, chat)
        if state.step == CONFIRM:
            break
        assert state.step in case.answers, f"{case.interview}: no answer for {state.step}"
        asked.append(state.step)
        for act in case.answers[state.step][0]:
            replies = await _do(driver, chat, act)
            assert replies and replies[-1].text != driver.t("zh_CN", "error.internal")
    await driver.press(chat, "nav:submit")
    assert set(asked) == set(case.answers), "each answer of the case was asked for"
    async with driver.db.reading() as uow:
        return (await uow.session.execute(select(Ticket).order_by(Ticket.id.desc()).limit(1))).scalar_one()


def _t(driver: DeskDriver, locale: str) -> dict[str, str]:
    class Lookup(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return driver.t(locale, key)

    return Lookup()


async def test_every_answer_of_every_kind_reaches_the_officer_in_their_language(driver: DeskDriver) -> None:
    await load_demo_units(driver.db)
    t = _t(driver, "en")
    for n, case in enumerate(kinds(t)):
        citizen = driver.chat(f"citizen-{n}", channel="telegram")  # a few tickets a day each (the daily cap)
        await driver.agree(citizen)
        officer = await join(
            driver, f"officer-{n}", case.unit, "officer", f"Officer {n}", channel="telegram", language="en"
        )
        colleague = await join(driver, f"colleague-{n}", case.unit, "officer", f"Colleague {n}", language="en")
        ticket = await walk_every_step(driver, citizen, case)
        unit_code = await _unit_code(driver, ticket)
        assert unit_code == case.unit, case.interview

        # Before anyone claims it, a colleague of the unit sees every answer, but the sensitive ones locked.
        before = (await driver.press(colleague, f"t:view:{ticket.id}"))[-1]
        await driver.press(officer, f"t:claim:{ticket.id}")
        card = (await driver.press(officer, f"t:view:{ticket.id}"))[-1]
        interview = INTERVIEWS[case.interview]
        for key, (_, shown) in case.answers.items():
            if shown is None:
                continue
            label = driver.t("en", label_of(interview, interview.step(key)))
            line = next((line for line in card.text.splitlines() if line.startswith(f"• {label}: ")), None)
            assert line is not None and shown in line, f"{case.interview}.{key}: {card.text}"
            early = next(line for line in before.text.splitlines() if line.startswith(f"• {label}: "))
            if key in case.sensitive:
                assert early == f"• {label}: {driver.t('en', 'desk.card.sensitive_hidden')}", early
            else:
                assert shown in early
        for more in case.extra:
            assert more in card.text
        if case.place:
            assert case.place in card.text and "sidu" not in card.text  # townships by name, never by code
        if case.sensitive:
            assert await _audits(driver, ticket.id, "view_sensitive") >= 1
        if case.files:
            assert f"📎 {case.files} attachments" in card.text and f"t:files:{ticket.id}" in buttons(card)
            opened = await driver.press(officer, f"t:files:{ticket.id}")
            sent = [(r.attachment.kind, r.attachment.ref, r.attachment.name) for r in opened if r.attachment]
            assert sent == [
                ("photo", "tg-photo-1", None),
                ("voice", "tg-voice-1", None),
                ("document", "tg-doc-1", FILE_NAME),
            ]  # by their Telegram file ids, named as sent
            async with driver.db.reading() as uow:  # the name is sealed on the ticket: it can say whose it is
                held = await uow.tickets.get(ticket.id)
                assert held is not None and FILE_NAME not in json.dumps(held.attachments, ensure_ascii=False)
                assert held.details_sealed and FILE_NAME not in held.details_sealed  # fmt: skip
            elsewhere = await driver.press(colleague, f"t:files:{ticket.id}")
            assert elsewhere[-1].text == driver.t("en", "desk.not_found")  # not theirs to open once claimed
            assert await _audits(driver, ticket.id, "open_attachments") == 1


async def _unit_code(driver: DeskDriver, ticket: Ticket) -> str:
    async with driver.db.reading() as uow:
        unit = await uow.units.get(ticket.unit_id or 0)
        return unit.code if unit else ""


async def _audits(driver: DeskDriver, ticket_id: int, action: str) -> int:
    async with driver.db.reading() as uow:
        stmt = (
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.ticket_id == ticket_id, AuditEntry.action == action)
        )
        return int((await uow.session.execute(stmt)).scalar_one())


@pytest.fixture
async def dispute_on_webchat(driver: DeskDriver) -> tuple[Ticket, Chat, Chat]:
    """A web chat citizen's dispute with one photo, claimed by an officer on the web chat."""
    await load_demo_units(driver.db)
    citizen = driver.chat("w-citizen")
    await driver.agree(citizen)
    officer = await join(driver, "w-officer", "xixiang-so-sidu", "officer", "张三")
    t = _t(driver, "zh_CN")
    case = kinds(t)[0]
    case.answers["evidence"] = ([("photo", "webchat:w" + "a" * 40 + "/" + "b" * 32 + ".png"), ("press", "done")], None)
    ticket = await walk_every_step(driver, citizen, case)
    await driver.press(officer, f"t:claim:{ticket.id}")
    return ticket, citizen, officer


async def test_a_web_chat_file_opens_for_the_web_chat_officer_and_is_named_elsewhere(
    driver: DeskDriver, dispute_on_webchat: tuple[Ticket, Chat, Chat]
) -> None:
    ticket, _, officer = dispute_on_webchat
    opened = await driver.press(officer, f"t:files:{ticket.id}")
    [photo] = [r for r in opened if r.attachment is not None]
    assert photo.attachment is not None and photo.attachment.ref.startswith("webchat:")
    assert photo.text == driver.t("zh_CN", "desk.files.caption", number=ticket.number, index=1, count=1,
                                  kind=driver.t("zh_CN", "desk.file.photo"))  # fmt: skip
    async with driver.db() as uow:
        row = await uow.tickets.get(ticket.id)
        assert row is not None
        row.attachments = [{"kind": "voice", "ref": "wechat:MEDIA_ID_1", "channel": "wechat"}]
        await uow.commit()
    other = await driver.press(officer, f"t:files:{ticket.id}")
    assert other[-1].attachment is None
    assert driver.t("zh_CN", "desk.files.elsewhere", channel=driver.t("zh_CN", "desk.files.channel.wechat")) in (
        other[-1].text
    )


async def test_the_resolution_carries_the_result_and_a_rejection_says_where_else_to_go(
    driver: DeskDriver, dispute_on_webchat: tuple[Ticket, Chat, Chat]
) -> None:
    ticket, citizen, officer = dispute_on_webchat
    await driver.press(officer, f"t:resolve:{ticket.id}")
    await driver.press(officer, f"t:outcome:{ticket.id}:mediation_agreement")
    result = "已组织双方现场调解，邻居同意本周内把界桩移回原处"
    await driver.say(officer, result)
    told = (await driver.replies(citizen))[-1]
    assert driver.t("zh_CN", "desk.tell.result", result=result) in told.text
    assert driver.t("zh_CN", "desk.outcome.mediation_agreement") in told.text

    second = await walk_every_step(driver, citizen, kinds(_t(driver, "zh_CN"))[0])
    await driver.press(officer, f"t:reject:{second.id}")
    await driver.say(officer, "同一纠纷已在法院立案，司法所不再调解")
    await driver.say(officer, "西乡县人民法院立案庭 0916-6212345")
    rejected = (await driver.replies(citizen))[-1]
    assert "同一纠纷已在法院立案" in rejected.text
    assert driver.t("zh_CN", "desk.tell.elsewhere", where="西乡县人民法院立案庭 0916-6212345") in rejected.text
    async with driver.db.reading() as uow:  # kept on the ticket's record with the number masked, sealed as written
        [kept] = [e for e in await uow.tickets.events(second.id) if e.to_status == "rejected" and e.note]
        assert "6212345" not in (kept.note or "") and "0916-6212345" in uow.tickets.note_of(kept)

    third = await walk_every_step(driver, citizen, kinds(_t(driver, "zh_CN"))[0])
    await driver.press(officer, f"t:reject:{third.id}")
    await driver.say(officer, "不属于人民调解范围")
    await driver.press(officer, "nav:skip")  # no unit named: the public hotlines
    rejected = (await driver.replies(citizen))[-1]
    assert "12348" in rejected.text and "12345" in rejected.text


async def test_a_landline_is_taken_said_and_reaches_the_officer(driver: DeskDriver) -> None:
    await load_demo_units(driver.db)
    citizen = driver.chat("landline")
    await driver.agree(citizen)
    officer = await join(driver, "landline-officer", "hantai-justice", "officer", "张三")
    await driver.press(citizen, "menu:service")
    for act in (("press", "elderly"), ("press", "hantai"), ("say", "汉台区北关街道东大街12号"), ("press", "asap")):
        await _do(driver, citizen, act)
    await driver.press(citizen, "nav:skip")
    taken = await driver.say(citizen, "0916-2345678")
    assert taken[0].text == driver.t("zh_CN", "input.phone_landline")
    await driver.press(citizen, "nav:submit")
    async with driver.db.reading() as uow:
        ticket = (await uow.session.execute(select(Ticket).order_by(Ticket.id.desc()).limit(1))).scalar_one()
        assert ticket.phone_sealed and uow.cipher.decrypt(ticket.phone_sealed) == "09162345678"
    await driver.press(officer, f"t:claim:{ticket.id}")
    revealed = await driver.press(officer, f"t:phone:{ticket.id}")
    assert "09162345678" in revealed[-1].text
