"""What the citizen side answers: the global commands, the menu, language, consent, navigation inside a form, the
citizen's own tickets and the satisfaction callback."""

from __future__ import annotations

from typing import Final

from handlers.citizen import link, menu, mytickets, navigation, rating, sms
from handlers.citizen.privacy import copy, correct, delete, notice
from handlers.conversation.routes import Command, Routes

ROUTES: Final = Routes(
    commands=(
        Command("start", menu.start),
        Command("menu", menu.show_menu),
        Command("status", mytickets.show_list),
        Command("lang", menu.choose_language),
        Command("cancel", navigation.cancel),
        Command("back", navigation.back),
        Command("link", link.command),
        Command("unlink", link.unlink),
        Command("sms", sms.start),
        Command("privacy", notice.show),
        Command("mydata", copy.send_copy),
        Command("delete", delete.ask),
    ),
    buttons={
        "menu": menu.on_menu,
        "nav": navigation.on_nav,
        "edit": navigation.on_edit,
        "sensitive": navigation.on_sensitive,
        "consent": menu.on_consent,
        "lang": menu.on_language,
        "my": mytickets.on_button,
        "rate": rating.on_button,
        "link": link.on_button,
        notice.PREFIX: notice.on_button,
    },
    interviews=(
        mytickets.TICKET_NOTE,
        mytickets.TICKET_CANCEL,
        rating.COMMENT_FORM,
        sms.PHONE_FORM,
        sms.CODE_FORM,
        *correct.FORMS,
    ),
)
