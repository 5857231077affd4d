"""Clusters (未诉先办): tickets that share a normalised employer name, a fraud suspect's account or number, or a place
and category within a window are one pattern, seen before it becomes a wave of complaints. The thresholds and
windows are data (demo/clusters.toml, handed in as Rules.clusters). A new cluster tells the leaders of the units
involved, once each; an officer may link its tickets into one joint case (并案), and each citizen is told.

A suspect's number or account is only ever stored as a keyed hash (and shown masked); an employer's name is kept as
normalised, since leaders must read it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from handlers.conversation.buttons import Data, data
from handlers.conversation.messages import Button, Reply
from handlers.conversation.places import township_label
from handlers.conversation.turn import Effects, Turn
from handlers.conversation.words import category_label, kind_label, label, unit_label
from handlers.tickets import lifecycle
from handlers.tickets.events import TicketOpened
from handlers.tickets.policy import Action, Role, actor_for, allows
from storage.crypto import FieldCipher
from storage.models import Cluster, ClusterKey, ClusterMember, Ticket, Unit

PREFIX: Final = "lg"
KINDS: Final = ("employer", "suspect", "place")
SHOWN: Final = 10


class ClusterDataError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    threshold: int
    window: timedelta
    kinds: tuple[str, ...] = ()  # ticket kinds grouped by this key (place: which kinds; others: all)


@dataclass(frozen=True)
class ClusterRules:
    rules: Mapping[str, Rule]
    strip: tuple[str, ...]  # words an employer's name is said with or without (有限公司, 工地)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ClusterRules:
        """From the data file's contents; an empty mapping groups nothing."""
        rules: dict[str, Rule] = {}
        for kind in KINDS:
            entry = raw.get(kind)
            if entry is None:
                continue
            try:
                threshold, days = int(entry["threshold"]), int(entry["window_days"])
            except (KeyError, TypeError, ValueError):
                raise ClusterDataError(f"[{kind}]: threshold and window_days are whole numbers") from None
            if threshold < 2 or not 1 <= days <= 366:
                raise ClusterDataError(f"[{kind}]: a threshold of at least 2 and a window of 1 to 366 days")
            rules[kind] = Rule(threshold, timedelta(days=days), tuple(str(k) for k in entry.get("kinds", ())))
        unknown = set(raw) - {*KINDS, "employer_names"}
        if unknown:
            raise ClusterDataError(f"unknown tables {sorted(unknown)}")
        strip = tuple(str(w) for w in raw.get("employer_names", {}).get("strip", ()))
        return cls(rules, tuple(sorted(strip, key=len, reverse=True)))


def normalise_employer(name: str, strip: Iterable[str]) -> str:
    """'汉中市 恒达建筑有限公司（工地）' and '恒达建筑公司' are one employer: width and case folded, brackets,
    spaces and punctuation gone, the words of `strip` (legal forms, places, 工地) removed."""
    text = unicodedata.normalize("NFKC", name).lower()
    text = re.sub(r"[\(（\[【].*?[\)）\]】]", "", text)
    text = re.sub(r"[\W_]+", "", text)
    for word in strip:
        text = text.replace(unicodedata.normalize("NFKC", word).lower(), "")
    return text


def suspect_keys(text: str) -> list[tuple[str, str]]:
    """(normalised key, masked label) for each number or account in what the citizen wrote: digit runs of six or
    more (separators ignored), e-mail addresses, and otherwise the whole text when it is long enough to be an id."""
    folded = unicodedata.normalize("NFKC", text).lower()
    found: list[tuple[str, str]] = []
    for email in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", folded):
        found.append((email, f"{email[0]}***@{email.split('@', 1)[1]}"))
        folded = folded.replace(email, " ")
    for run in re.findall(r"\d[\d\s-]{4,}\d", folded):
        digits = re.sub(r"\D", "", run)
        if len(digits) >= 6:
            found.append((digits, f"{digits[:3]}****{digits[-4:]}"))
    if not found:
        compact = re.sub(r"[\W_]+", "", folded)
        if len(compact) >= 6:
            found.append((compact, f"{compact[:2]}****{compact[-2:]}"))
    return list(dict(found).items())


def keys_of(
    ticket: Ticket, details: Mapping[str, Any], rules: ClusterRules, cipher: FieldCipher
) -> list[tuple[str, str, str]]:
    """(kind, keyed hash, label) of everything this ticket may share with others; `details`: its answers as typed
    (the ticket keeps numbers in free text masked, so they are read opened: only their keyed hash is kept)."""
    keys: list[tuple[str, str, str]] = []

    def wanted(kind: str) -> bool:
        rule = rules.rules.get(kind)
        return rule is not None and (not rule.kinds or ticket.kind in rule.kinds)

    employer = details.get("wages_employer")
    if wanted("employer") and isinstance(employer, str):
        name = normalise_employer(employer, rules.strip)
        if len(name) >= 2:
            keys.append(("employer", cipher.lookup_hash(f"employer:{name}"), name[:120]))
    suspect = details.get("fraud_suspect")
    if wanted("suspect") and isinstance(suspect, str):
        for key, masked in suspect_keys(suspect):
            keys.append(("suspect", cipher.lookup_hash(f"suspect:{key}"), masked))
    if wanted("place") and ticket.county:
        place = f"{ticket.county}|{ticket.township or ''}|{ticket.kind}|{ticket.category}"
        keys.append(("place", cipher.lookup_hash(f"place:{place}"), place))
    return keys


def rules_of(fx: Effects) -> ClusterRules:
    return ClusterRules.parse(fx.rules.clusters)


async def on_ticket_opened(fx: Effects, event: TicketOpened) -> None:
    """Record what the new ticket shares; a key reaching its threshold within its window makes a cluster (its
    units' leaders told once); a ticket with the key of a cluster still growing joins it."""
    rules = rules_of(fx)
    if not rules.rules:
        return
    uow, ticket = fx.uow, event.ticket
    answers = {**uow.tickets.answers(ticket), **uow.tickets.originals(ticket)}
    for kind, key_hash, shown in keys_of(ticket, answers, rules, uow.cipher):
        rule = rules.rules[kind]
        await uow.ledger.clusters.lock_key(f"{kind}:{key_hash}")
        await uow.ledger.clusters.add_key(
            ClusterKey(ticket_id=ticket.id, kind=kind, key_hash=key_hash, label=shown, created_at=ticket.created_at)
        )
        since = ticket.created_at - rule.window
        cluster = await uow.ledger.clusters.open_for(kind, key_hash, since)
        if cluster is not None:
            if await uow.ledger.clusters.add_member(
                ClusterMember(cluster_id=cluster.id, ticket_id=ticket.id, unit_id=ticket.unit_id, joined_at=fx.now)
            ):
                cluster.size += 1
                cluster.last_at = max(cluster.last_at, ticket.created_at)
            await alert_leaders(fx, cluster, [ticket.unit_id])
            continue
        sharing = await uow.ledger.clusters.sharing(kind, key_hash, since)
        if len(sharing) < rule.threshold:
            continue
        cluster = await uow.ledger.clusters.add(
            Cluster(
                kind=kind,
                key_hash=key_hash,
                label=shown,
                size=len(sharing),
                first_at=sharing[0][2],
                last_at=max(created for _, _, created in sharing),
                created_at=fx.now,
            )
        )
        for ticket_id, unit_id, _ in sharing:
            await uow.ledger.clusters.add_member(
                ClusterMember(cluster_id=cluster.id, ticket_id=ticket_id, unit_id=unit_id, joined_at=fx.now)
            )
        await alert_leaders(fx, cluster, [unit_id for _, unit_id, _ in sharing])


def describe(fx: Effects, locale: str, cluster: Cluster) -> str:
    """What the tickets share, in words: the employer, the masked number, or the place and kind of matter."""
    tr = fx.translator
    if cluster.kind == "place":
        county, township, kind, category = [*cluster.label.split("|"), "", "", ""][:4]
        place = label(tr, locale, f"county.{county}", county)
        if township:
            place = f"{place} {label(tr, locale, township_label(county, township), township)}"
        what = f"{kind_label(tr, locale, kind)} · {category_label(tr, locale, kind, category)}"
        return tr(locale, "ledger.cluster.place", place=place, what=what)
    return tr(locale, f"ledger.cluster.{cluster.kind}", label=cluster.label)


async def alert_leaders(fx: Effects, cluster: Cluster, unit_ids: Iterable[int | None]) -> int:
    """Tell the leaders of each of these units about the cluster, unless that unit was told already."""
    told = 0
    units = await fx.uow.units.by_ids({u for u in unit_ids if u is not None})
    for unit in units.values():
        if not await fx.uow.ledger.clusters.mark_alerted(cluster.id, unit.id, fx.now):
            continue
        for leader in await fx.uow.officers.of_unit(unit.id, roles=(Role.LEADER.value,)):

            def render(locale: str, unit: Unit = unit) -> Reply:
                tr = fx.translator
                text = tr(
                    locale,
                    "ledger.cluster.alert",
                    what=describe(fx, locale, cluster),
                    count=cluster.size,
                    days=max((cluster.last_at - cluster.first_at).days + 1, 1),
                    unit=unit_label(tr, locale, unit),
                )
                buttons = (
                    (
                        Button(tr(locale, "ledger.btn.cluster"), data(PREFIX, "cluster", cluster.id)),
                        Button(tr(locale, "ledger.btn.link"), data(PREFIX, "link", cluster.id)),
                    ),
                )
                return Reply(text=text, buttons=buttons)

            if await fx.outbox.to_person(leader.person_id, render):
                told += 1
    return told


async def _visible_members(turn: Turn, cluster: Cluster, action: Action) -> tuple[list[Ticket], int]:
    """The cluster's tickets this person may `action`, and how many there are in all."""
    actor = await actor_for(turn.uow, turn.person.id)
    members = await turn.uow.ledger.clusters.members(cluster.id)
    allowed = []
    for member in members:
        ticket = await turn.uow.tickets.get(member.ticket_id)
        if ticket is not None and allows(actor, action, ticket):
            allowed.append(ticket)
    return allowed, len(members)


async def show_cluster(turn: Turn, cluster_id: int | None) -> None:
    """The tickets of a cluster this officer may look at, each with its card button."""
    cluster = await turn.uow.ledger.clusters.get(cluster_id) if cluster_id else None
    tickets, total = await _visible_members(turn, cluster, Action.VIEW) if cluster else ([], 0)
    if cluster is None or not tickets:
        turn.say("desk.not_found")
        return
    tr, locale = turn.translator, turn.locale
    lines = [turn.t("ledger.cluster.title", what=describe(turn, locale, cluster), count=total, shown=len(tickets))]
    rows: list[tuple[Button, ...]] = []
    for ticket in tickets[:SHOWN]:
        status = label(tr, locale, f"status.{ticket.status}", ticket.status)
        lines.append(f"• {ticket.number} · {status}")
        rows.append((turn.button("desk.btn.open", data("t", "view", ticket.id), number=ticket.number),))
    if cluster.joint_at is None:
        rows.append((turn.button("ledger.btn.link", data(PREFIX, "link", cluster.id)),))
    turn.reply(Reply(text="\n".join(lines), buttons=tuple(rows)))


async def link_cluster(turn: Turn, cluster_id: int | None) -> None:
    """Link the cluster's tickets this officer may link (LINK_CASE: they work or oversee them) into one joint case;
    each of their citizens is told their matter is handled together, as a ticket event they can see."""
    uow = turn.uow
    cluster = await uow.ledger.clusters.get(cluster_id, lock=True) if cluster_id else None
    if cluster is None:
        turn.say("desk.not_found")
        return
    actor = await actor_for(uow, turn.person.id)
    members = await uow.ledger.clusters.members(cluster.id)
    linked = already = 0
    for member in members:
        ticket = await uow.tickets.get_for_update(member.ticket_id)
        if ticket is None or not allows(actor, Action.LINK_CASE, ticket):
            continue
        if member.linked_at is not None:
            already += 1
            continue
        member.linked_at = turn.now
        await lifecycle.record(
            uow, ticket, "joint_case", actor_person_id=turn.person.id, now=turn.now, citizen_visible=True
        )  # fmt: skip
        await _tell_citizen(turn, ticket, cluster)
        linked += 1
    if linked == 0 and already == 0:
        turn.say("desk.not_found")
        return
    if cluster.joint_at is None and linked:
        cluster.joint_at, cluster.joint_by_person_id = turn.now, turn.person.id
    await uow.flush()
    turn.say("ledger.cluster.linked", count=linked, already=already, total=len(members))


async def _tell_citizen(turn: Turn, ticket: Ticket, cluster: Cluster) -> None:
    unit = await turn.uow.units.get(ticket.unit_id) if ticket.unit_id else None
    tr = turn.translator

    def render(locale: str) -> Reply:
        text = tr(
            locale, "ledger.cluster.citizen", number=ticket.number, count=cluster.size - 1,
            unit=unit_label(tr, locale, unit),
        )  # fmt: skip
        return Reply(text=text)

    await turn.outbox.to_person(ticket.citizen_id, render, kind="update")


async def on_button(turn: Turn, pressed: Data) -> bool:
    """`lg:cluster:<id>` and `lg:link:<id>`; False for a button that is not about clusters."""
    verb = pressed.part(0)
    if verb == "cluster":
        await show_cluster(turn, pressed.id(1))
        return True
    if verb == "link":
        await link_cluster(turn, pressed.id(1))
        return True
    return False
