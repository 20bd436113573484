"""The console's stored cards: the list, 洗替 run from its button, and a card's 洗替 history —
masked numbers only, one merchant's cards only."""

from __future__ import annotations

import re
import uuid

from kessai.core.console.permissions import Permission
from tests.conftest import make_merchant
from tests.support.console import make_user, signed_in
from tests.support.telegrams import send


def store(server, merchant, number: str, customer: str) -> str:
    reply = send(
        server, merchant, "025", customer_id=customer, card_number=number, card_valid_term="1230"
    )
    assert reply.result == "0", reply.fields
    return reply["customer_card_id"]


def test_refresh_button_updates_the_cards_and_the_history_shows_the_change(
    runtime, server, merchant
):
    replaced = store(server, merchant, "4980000000007206", "CON1")
    closed = store(server, merchant, "4980000000007307", "CON2")
    clerk = make_user(
        runtime,
        merchant.merchant_id,
        f"card{uuid.uuid4().hex[:8]}",
        permissions=frozenset({Permission.CARD}),
    )
    client = signed_in(server, clerk)

    listed = client.get("/console/cards")
    assert listed.status_code == 200
    assert "************7206" in listed.text and "未実施" in listed.text

    ran = client.post("/console/cards/refresh")
    assert ran.status_code == 200, ran.text[:300]
    assert "2件のカードを照会しました" in ran.text
    assert "************7206 → ************0206" in ran.text

    after = client.get("/console/cards")
    assert re.search(rf">{closed}</a>.*?利用停止", after.text, re.S)
    card = client.get(f"/console/cards/{replaced}")
    assert "7206 → 0206" in card.text and "1230 → 1234" in card.text
    assert "console" in card.text and "カード番号更新" in card.text
    for page in (listed, ran, after, card):
        assert "4980000000007206" not in page.text and "4980000000000206" not in page.text


def test_another_merchants_card_is_not_found(runtime, server, merchant):
    theirs = store(server, make_merchant(runtime), "4980000000001000", "THEIRS")
    admin = make_user(
        runtime,
        merchant.merchant_id,
        f"adm{uuid.uuid4().hex[:8]}",
        permissions=frozenset(Permission),
    )
    client = signed_in(server, admin)
    assert client.get(f"/console/cards/{theirs}").status_code == 404
    assert f">{theirs}</a>" not in client.get("/console/cards").text
