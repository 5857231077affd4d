"""The routing table without a database: button data as one typed value, every prefix and command owned by one
capability, and the one command list behind /help and the channels' menus agreeing with the policy."""

from __future__ import annotations

from handlers import router
from handlers.conversation.buttons import MAX_ID_DIGITS, Data, data
from handlers.conversation.routes import Routes
from handlers.tickets.policy import Role
from tests.support.turns import translator


def test_button_data_reads_back_what_was_written_and_ids_follow_one_rule() -> None:
    written = data("t", "to", 12, 34)
    pressed = Data.read(written)
    assert (str(pressed), pressed.prefix, pressed.part(0), pressed.id(1), pressed.rest(2)) == (
        written, "t", "to", 12, "34"
    )  # fmt: skip
    assert Data.read("t:view").id(1) is None and Data.read("t:view:-1").id(1) is None
    assert Data.read("t:view:" + "9" * MAX_ID_DIGITS).id(1) is not None
    assert Data.read("t:view:" + "9" * (MAX_ID_DIGITS + 1)).id(1) is None
    assert Data.read("rate:5:comment:skip").rest(1) == "comment:skip"


def test_every_prefix_and_command_belongs_to_one_capability() -> None:
    seen_prefixes: list[str] = []
    seen_commands: list[str] = []
    for routes in router.INCLUDED:
        assert isinstance(routes, Routes)
        seen_prefixes += list(routes.buttons)
        seen_commands += [c.name for c in routes.commands]
    assert len(seen_prefixes) == len(set(seen_prefixes)), seen_prefixes
    assert len(seen_commands) == len(set(seen_commands)), seen_commands


def test_menus_offer_what_the_policy_allows_and_each_command_says_what_it_does() -> None:
    everyone = router.menu_for(None)
    assert {"start", "menu", "status", "help", "guide", "subscribe", "lang", "cancel", "back"} <= set(everyone)
    assert not {"duty", "overview", "invite", "broadcast"} & set(everyone)
    assert {"duty"} <= set(router.menu_for(Role.OFFICER)) and "overview" not in router.menu_for(Role.OFFICER)
    assert {"duty", "overview"} <= set(router.menu_for(Role.LEADER)) and "invite" not in router.menu_for(Role.LEADER)
    assert {"duty", "overview", "invite", "broadcast", "broadcasts"} <= set(router.menu_for(Role.ADMIN))
    tr = translator()
    for name in router.menu_for(Role.ADMIN):
        for locale in ("zh_CN", "en"):
            assert tr(locale, f"command.{name}") != f"command.{name}", (locale, name)


def test_every_interview_is_in_the_table_once() -> None:
    names = [i.name for i in router.INTERVIEWS.values()]
    assert len(names) == len(set(names))
    assert {"dispute", "concern", "legal_aid", "relief", "service", "desk_note", "rate_comment"} <= set(names)
