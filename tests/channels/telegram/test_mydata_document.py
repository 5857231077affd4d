"""/mydata on Telegram through a real `python -m bot run` on the fake Bot API (#16): the copy arrives as a document
uploaded with sendDocument (multipart), a JSON file that parses and holds every value the citizen gave — sealed
answers and free text opened as typed, the shared phone."""

from __future__ import annotations

import json
import re

from handlers.conversation.i18n import Translator
from handlers.interviews.concern import CONCERN
from tests.channels.telegram.conftest import Rig
from tests.channels.telegram.fake_api import FakeBotAPI
from tests.channels.telegram.walk import Plan, Walker

PHONE = "+86 139 5550 1234"
AMOUNT = "46213.58"
SUSPECT = "对方自称客服，电话 137 8765 4321"
DESCRIPTION = "对方冒充快递客服让我扫码退款，我转了钱，我的卡号 6222021234567890128"


async def test_the_copy_is_a_json_document_holding_every_value(rig: Rig, fake: FakeBotAPI, t: Translator) -> None:
    user = fake.user(6161)
    walker = Walker(user, t, "zh_CN")
    menu = await walker.start()
    plan = Plan(choices={"category": "fraud"}, texts={"fraud_amount": AMOUNT, "fraud_suspect": SUSPECT,
                                                      "description": DESCRIPTION}, phone=PHONE)  # fmt: skip
    walk = await walker.interview(menu, CONCERN, plan)
    assert any("HZ-" in m.text for m in walk.receipt)
    [number] = {found for m in walk.receipt for found in re.findall(r"HZ-\d{8}-\d{4}", m.text)}

    await walker.hands.type("/mydata")
    await fake.wait_until(lambda: any(c.method == "senddocument" and c.status == 200 for c in fake.calls), 20)
    [call] = [c for c in fake.calls if c.method == "senddocument"]
    assert call.chat_id == user.id
    upload = call.files["document"]  # uploaded by the bot itself, not a URL Telegram would fetch
    assert upload.filename.startswith("mydata-") and upload.filename.endswith(".json")
    data = json.loads(upload.data.decode("utf-8"))

    [ticket] = data["tickets"]
    assert ticket["number"] == number
    answers = ticket["answers"]
    assert answers["fraud_amount"] == AMOUNT  # sealed on the ticket, opened in the copy
    assert answers["fraud_suspect"] == SUSPECT and answers["description"] == DESCRIPTION  # as typed, not masked
    assert answers["phone"].replace(" ", "").endswith("13955501234")
    assert "****" not in json.dumps(answers, ensure_ascii=False)
    assert [c for c in data["consents"].values() if c]  # the notice agreed to, with its time
    assert [(c["channel"], c["id"]) for c in data["chats"]] == [("telegram", str(user.id))]
    told = [m.text for m in fake.sent_to(user.id)]
    assert t("zh_CN", "privacy.copy.file") in told  # and what the file is, said in the chat
