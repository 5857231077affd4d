"""What the citizen told us, as an officer reads it: every answer of the ticket's interview under its question's
label, in the officer's language; sensitive answers only to whom the policy allows (seen in full, they leave an
audit row); townships by name; photos and voice notes listed, and opened on request — on the officer's own chat:
web chat files as a download for that officer only, Telegram files by their file id, WeChat ones by their media id.

The interview tables say which steps there were and what they asked (handlers/interviews/); the answers are
`uow.tickets.answers` (handlers/interviews/submit.py keeps every one: sensitive ones sealed, free text with numbers
masked), the phone and ID number sealed apart. The officer in charge reveals masked text as typed (`original`)."""

from __future__ import annotations

from typing import Any, Final

from handlers.conversation.engine import label_of
from handlers.conversation.inputs import Media
from handlers.conversation.interview import Interview, Step
from handlers.conversation.messages import Attachment, Reply
from handlers.conversation.places import TownshipChoice, township_label
from handlers.conversation.turn import Turn
from handlers.conversation.words import label, short
from handlers.interviews import INTERVIEWS
from handlers.interviews.submit import CATEGORY_KEY, SUMMARY_KEY
from handlers.staff.context import Ctx
from handlers.tickets import lifecycle
from handlers.tickets.policy import Action, Actor, allows
from storage.crypto import mask_id_number
from storage.models import Ticket
from storage.repositories.tickets import TicketRepository

SHOWN_ON_CARD: Final = ("county", "township", "phone")  # the card says these on lines of its own
ANSWER_CHARS: Final = 600
WECHAT_MEDIA: Final = "wechat:"  # a WeChat attachment's ref: its temporary media id (bot/channels/wechat)
WEBCHAT_FILE: Final = "webchat:"  # a web chat upload: webchat:<chat>/<file>


def interview_of(ticket: Ticket) -> Interview | None:
    return next((i for i in INTERVIEWS.values() if i.kind == ticket.kind), None)


def answers_of(tickets: TicketRepository, ticket: Ticket) -> dict[str, Any]:
    """The answers as the interview held them (numbers in free text masked), with the summary and place put back."""
    details = tickets.answers(ticket)
    values: dict[str, Any] = {k: v for k, v in details.items() if not k.startswith("_")}
    summary_key = details.get(SUMMARY_KEY)
    if isinstance(summary_key, str) and ticket.summary:
        values[summary_key] = ticket.summary
    if ticket.county is not None:
        values["county"] = ticket.county
    if ticket.township is not None:
        values["township"] = ticket.township
    if ticket.phone_masked:
        values["phone"] = ticket.phone_masked
    return values


def _shown(turn: Turn, ticket: Ticket, step: Step, value: Any) -> str:
    if isinstance(step.expects, TownshipChoice):
        code = f"{ticket.county}.{value}"
        return label(turn.translator, turn.locale, township_label(str(ticket.county), str(value)), code)
    return short(step.expects.show(turn, value), ANSWER_CHARS)


def is_category(ticket: Ticket, step: Step) -> bool:
    """The step that chose the ticket's category: the card's first line already names it."""
    return (ticket.details or {}).get(CATEGORY_KEY) == step.key


async def answer_lines(ctx: Ctx) -> list[str]:
    """One line per answer, under a heading; the masked phone, place and category are on the card already. Falls
    back to the summary alone for a ticket no interview describes."""
    turn, ticket, actor = ctx.turn, ctx.ticket, ctx.actor
    interview = interview_of(ticket)
    values = answers_of(turn.uow.tickets, ticket)
    if interview is None or SUMMARY_KEY not in (ticket.details or {}):
        return [turn.t("desk.card.summary", summary=ticket.summary)]
    may_see = allows(actor, Action.VIEW_SENSITIVE, ticket)
    lines = [turn.t("desk.card.answers")]
    revealed = False
    for step in interview.applicable(values):
        if step.key in SHOWN_ON_CARD or isinstance(step.expects, Media):
            continue
        value = values.get(step.key)
        if step.key == "id_number" and ticket.id_number_sealed:
            value = mask_id_number(turn.uow.cipher.decrypt(ticket.id_number_sealed))
        if is_category(ticket, step):
            continue
        question = turn.t(label_of(interview, step))
        if value is None:
            shown = turn.t("engine.skipped")
        elif step.sensitive and not may_see:
            shown = turn.t("desk.card.sensitive_hidden")
        else:
            shown = value if step.key == "id_number" else _shown(turn, ticket, step, value)
            revealed = revealed or step.sensitive
        lines.append(f"• {question}: {shown}")
    lines.extend(_assessment(turn, values))
    lines.extend(attachment_lines(turn, actor, ticket))
    if revealed:
        await turn.uow.audit.add(actor.person_id, "view_sensitive", ticket.id, turn.now)
    return lines


def _assessment(turn: Turn, values: dict[str, Any]) -> list[str]:
    found = values.get("assessment")
    if not isinstance(found, dict) or "outcome" not in found:
        return []
    outcome = turn.t(f"desk.assessment.{found['outcome']}")
    return [turn.t("desk.card.assessment", outcome=outcome, article=str(found.get("article", "")))]


def attachment_lines(turn: Turn, actor: Actor, ticket: Ticket) -> list[str]:
    files = [a for a in ticket.attachments or [] if isinstance(a, dict) and a.get("ref")]
    if not files:
        return []
    kinds = " · ".join(turn.t(f"desk.file.{kind_of(a)}") for a in files)
    hint = "desk.card.files_hint" if allows(actor, Action.VIEW_SENSITIVE, ticket) else "desk.card.files_locked"
    return [turn.t("desk.card.files", count=len(files), kinds=kinds), turn.t(hint)]


def kind_of(item: dict[str, Any]) -> str:
    kind = str(item.get("kind") or "document")
    return kind if kind in ("photo", "voice", "video", "audio") else "document"


def origin_of(item: dict[str, Any]) -> str:
    """The channel an attachment came in on: recorded at intake, else told by the shape of its ref."""
    if item.get("channel"):
        return str(item["channel"])
    ref = str(item.get("ref", ""))
    if ref.startswith(WEBCHAT_FILE):
        return "webchat"
    if ref.startswith(WECHAT_MEDIA):
        return "wechat"
    return "telegram"


async def open_attachments(ctx: Ctx, arg: str) -> None:
    """ "Open attachments": each file to the officer's own chat (a channel can show a file of its own platform, and
    Telegram a web chat upload too); a file from another platform is named, with where it can be opened. The
    policy was asked (VIEW_SENSITIVE) before this runs; each opening is on the audit log."""
    turn, ticket = ctx.turn, ctx.ticket
    files = [a for a in turn.uow.tickets.files(ticket) if a.get("ref")]
    if not files:
        ctx.say("desk.files.none", number=ticket.number)
        return
    here = turn.incoming.channel
    await turn.uow.audit.add(ctx.actor.person_id, "open_attachments", ticket.id, turn.now)
    for index, item in enumerate(files, start=1):
        kind, origin = kind_of(item), origin_of(item)
        caption = turn.t(
            "desk.files.caption",
            number=ticket.number,
            index=index,
            count=len(files),
            kind=turn.t(f"desk.file.{kind}"),
        )
        if origin == here or (origin == "webchat" and here == "telegram"):
            attachment = Attachment(kind=kind, ref=str(item["ref"]), name=item.get("name"), size=item.get("size"))
            turn.reply(Reply(text=caption, attachment=attachment, sensitive=True))
        else:
            where = turn.t(f"desk.files.channel.{origin}")
            turn.reply(Reply(text=f"{caption}\n{turn.t('desk.files.elsewhere', channel=where)}"))


async def reveal_originals(ctx: Ctx, arg: str) -> None:
    """ "Show as written": the free text the ticket holds with numbers masked (answers, and messages and notes on
    its record), as typed — to the officer in charge only (the policy's REVEAL_PHONE), on the audit log and the
    ticket's record like a revealed phone, in a message sealed at rest."""
    turn, ticket = ctx.turn, ctx.ticket
    originals = turn.uow.tickets.originals(ticket)
    interview = interview_of(ticket)
    lines = []
    for key, text in originals.items():
        step = next((s for s in interview.steps if s.key == key), None) if interview else None
        question = turn.t(label_of(interview, step)) if interview and step else key
        lines.append(f"• {question}: {short(text, ANSWER_CHARS)}")
    for event in await turn.uow.tickets.events(ticket.id):
        if event.note_sealed:
            action = label(turn.translator, turn.locale, f"desk.event.{event.action}", event.action)
            lines.append(f"• {action}: {short(turn.uow.tickets.note_of(event) or '', ANSWER_CHARS)}")
    if not lines:
        ctx.say("desk.original.none", number=ticket.number)
        return
    await turn.uow.audit.add(ctx.actor.person_id, "reveal_original", ticket.id, turn.now)
    await lifecycle.record(turn.uow, ticket, "original_revealed", actor_person_id=ctx.actor.person_id, now=turn.now)
    turn.reply(Reply(text="\n".join([turn.t("desk.original.full", number=ticket.number), *lines]), sensitive=True))
