"""The call task: a citizen's essential notice reached them by no way at all, so an officer is asked to call."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.conversation.i18n import Translator
from handlers.conversation.inputs import is_landline
from handlers.conversation.messages import Button, Reply
from handlers.conversation.quiet import officer_not_before
from handlers.conversation.words import label
from handlers.followups.effects import Firing
from handlers.tickets import lifecycle
from storage.models import FollowUp, Officer, Ticket


async def call_citizen(f: Firing, row: FollowUp, ticket: Ticket | None) -> None:
    """What the ladder could not deliver: the officer holding the ticket (else the unit's leaders) is told why, with
    the masked number and the button that reveals it in full (audited); a landline is said to be one."""
    if ticket is None or ticket.status == lifecycle.CANCELLED:
        return
    if ticket.officer_id is not None:
        officer = await f.uow.officers.get(ticket.officer_id)
        recipients: Sequence[Officer] = [officer] if officer is not None and officer.active else []
    else:
        recipients = await f.leaders_of(ticket.unit_id)
    message = await f.uow.outbox.get(int(row.params.get("outbox") or 0))
    tried = [(str(a["channel"] if a.get("rung") == "chat" else a.get("rung")), str(a.get("outcome")))
             for a in (message.ladder or [])] if message else []  # fmt: skip
    landline = bool(ticket.phone_sealed) and is_landline(f.uow.cipher.decrypt(ticket.phone_sealed or ""))
    for officer in recipients:

        def render(locale: str, officer: Officer = officer) -> Reply:
            lines = [f.tr(locale, "followup.call_citizen", number=ticket.number)]
            lines += [f.tr(locale, "followup.call_citizen.tried", channel=label(f.tr, locale, f"channel.{c}", c),
                           why=why_text(f.tr, locale, why)) for c, why in tried]  # fmt: skip
            if ticket.phone_masked:
                key = "followup.call_citizen.landline" if landline else "followup.call_citizen.phone"
                lines.append(f.tr(locale, key, phone=ticket.phone_masked))
            else:
                lines.append(f.tr(locale, "followup.call_citizen.no_phone"))
            reveal = Button(f.tr(locale, "desk.btn.phone"), f"t:phone:{ticket.id}")
            view = Button(f.tr(locale, "desk.btn.view"), f"t:view:{ticket.id}")
            return Reply(text="\n".join(lines), buttons=((reveal, view) if ticket.phone_sealed else (view,),))

        not_before = officer_not_before(officer, f.now, f.zone, urgent=ticket.urgent)
        await f.to_person(officer.person_id, render, not_before=not_before)
    await f.note(ticket, "call_task", f"officers={len(recipients)}")


def why_text(tr: Translator, locale: str, outcome: str) -> str:
    """An attempt's outcome as an officer reads it ("notnow: window_closed" → "the 48-hour window is closed")."""
    kind, _, rest = outcome.partition(":")
    code = (rest.split() or [kind])[0] if kind == "notnow" else kind
    return label(tr, locale, f"reach.why.{code}", outcome)
