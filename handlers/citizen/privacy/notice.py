"""`/privacy`: the notice, what is held about this person (counts), each term of retention with its basis, the
options with what each means, and whom to ask. The options are buttons `pv:<verb>`: a copy, correcting the phone,
a correction to a ticket, deletion, and withdrawing consent to the notice or to sensitive data (PIPL Art. 15)."""

from __future__ import annotations

from typing import Final

from handlers.citizen import consent
from handlers.citizen.privacy import copy, correct, delete
from handlers.conversation import engine
from handlers.conversation.buttons import Data, data
from handlers.conversation.menu import main_menu
from handlers.conversation.messages import Reply
from handlers.conversation.turn import Turn
from handlers.conversation.words import kind_label
from handlers.tickets.retention import basis_text

PREFIX: Final = "pv"


def contact(turn: Turn) -> str:
    return turn.rules.privacy_contact or turn.t("privacy.contact.none")


async def show(turn: Turn, args: str = "") -> None:
    person = turn.person
    identities = await turn.uow.people.identities_of(person.id)
    held = await turn.uow.rights.held(person.id, [(i.channel, i.external_id) for i in identities])
    policy = turn.rules.retention
    tr, locale = turn.translator, turn.locale
    terms = [
        turn.t("privacy.term", kind=kind_label(tr, locale, kind), years=term.years,
               basis=basis_text(term.basis, locale))
        for kind, term in policy.kinds.items()
    ]  # fmt: skip
    terms.append(
        turn.t("privacy.term.default", years=policy.default.years, basis=basis_text(policy.default.basis, locale))
    )
    lines = [
        turn.t("consent.notice"),
        "",
        turn.t(
            "privacy.held",
            tickets=held.tickets,
            messages=held.messages,
            subscriptions=held.subscriptions,
            chats=held.chats,
        ),
        turn.t("privacy.consent.notice_on" if person.consent_at else "privacy.consent.notice_off"),
        turn.t("privacy.consent.sensitive_on" if person.sensitive_consent_at else "privacy.consent.sensitive_off"),
        turn.t("privacy.terms"),
        *terms,
        turn.t("privacy.options"),
        turn.t("privacy.contact", contact=contact(turn)),
    ]
    rows = [
        (turn.button("privacy.button.copy", data(PREFIX, "copy")),),
        (
            turn.button("privacy.button.phone", data(PREFIX, "phone")),
            turn.button("privacy.button.fix", data(PREFIX, "fix")),
        ),
        (turn.button("privacy.button.delete", data(PREFIX, "delete")),),
    ]
    withdraw = []
    if person.consent_at is not None:
        withdraw.append(turn.button("privacy.button.withdraw", data(PREFIX, "withdraw")))
    if person.sensitive_consent_at is not None:
        withdraw.append(turn.button("privacy.button.sensitive", data(PREFIX, "sensitive")))
    if withdraw:
        rows.append(tuple(withdraw))
    rows.append((turn.button("mytickets.menu", "menu:continue"),))
    turn.reply(Reply(text="\n".join(lines), buttons=tuple(rows)))


def withdraw_sensitive(turn: Turn) -> None:
    """Only the separate consent to sensitive data (PIPL Art. 29): sensitive questions are asked again, or skipped;
    what was given on tickets already stays with them until they are deleted."""
    turn.person.sensitive_consent_at = None
    running = engine.current(turn)
    if running is not None and any(step.sensitive for step in running.steps):
        engine.reask(turn, running, lead=turn.t("privacy.sensitive.withdrawn"))
        return
    turn.reply(main_menu(turn, lead=turn.t("privacy.sensitive.withdrawn")))


async def on_button(turn: Turn, pressed: Data) -> None:
    verb = pressed.part(0)
    if verb == "copy":
        await copy.send_copy(turn)
    elif verb == "phone":
        await correct.ask_phone(turn)
    elif verb == "fix":
        await correct.choose_ticket(turn)
    elif verb == "fixon":
        await correct.begin_fix(turn, pressed.id(1))
    elif verb == "delete":
        await delete.ask(turn)
    elif verb == "erase":
        await delete.confirmed(turn, pressed.part(1))
    elif verb == "withdraw":
        withdrawn = consent.decline(turn)
        turn.reply(main_menu(turn, lead=turn.t("consent.withdrawn" if withdrawn else "consent.declined")))
    elif verb == "sensitive":
        withdraw_sensitive(turn)
    else:
        await show(turn)
