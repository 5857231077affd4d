"""Typed declarative models: every table the desk keeps, one module per group of aggregates."""

from storage.models.base import Base, Id, UtcDateTime
from storage.models.outreach import (
    Broadcast,
    BroadcastDelivery,
    GuideEntry,
    GuideTerm,
    GuideWord,
    SubscriberPrefs,
    Subscription,
)
from storage.models.people import ChatIdentity, Conversation, InboxEntry, OutboxMessage, Person, Upload
from storage.models.tickets import (
    AuditEntry,
    FollowUp,
    Invite,
    Officer,
    RoutingRule,
    Ticket,
    TicketCounter,
    TicketEvent,
    Unit,
)
from storage.models.wechat import WeChatGrant, WeChatHeld, WeChatToken, WeChatWindow

__all__ = [
    "AuditEntry",
    "Base",
    "Broadcast",
    "BroadcastDelivery",
    "ChatIdentity",
    "Conversation",
    "FollowUp",
    "GuideEntry",
    "GuideTerm",
    "GuideWord",
    "Id",
    "InboxEntry",
    "Invite",
    "Officer",
    "OutboxMessage",
    "Person",
    "RoutingRule",
    "SubscriberPrefs",
    "Subscription",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "Unit",
    "Upload",
    "UtcDateTime",
    "WeChatGrant",
    "WeChatHeld",
    "WeChatToken",
    "WeChatWindow",
]
