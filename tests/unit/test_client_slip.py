"""The SDK's typed call for the CVS payment slip (040) against `httpx.MockTransport`: the path, the
fields as Windows-31J, the items as item_*_N, and the answer's slip fields."""

from __future__ import annotations

import urllib.parse
from datetime import date

import httpx
import pytest

from kessai.client import KessaiClient, SlipItem, SlipResult

ANSWER = (
    "\r\nresult=0\r\nresponse_code=\r\nresponse_detail=\r\npayment_id=77\r\ntrading_id=S1\r\n"
    "slip_url=https://kessai.test/cvs/slip/77/abc\r\nbar_code=" + "9" * 44 + "\r\n"
    "payment_limit_date=20260430\r\nbill_expiration_date=20260430\r\n"
)


def test_apply_slip_posts_040_with_items_to_the_slip_path():
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=ANSWER.encode("cp932"))

    with KessaiClient(
        "https://kessai.test",
        merchant_id=1,
        connect_id="shop",
        connect_password="pw",
        transport=httpx.MockTransport(gateway),
    ) as kessai:
        result = kessai.apply_slip(
            trading_id="S1",
            payment_amount=3300,
            customer_family_name="山田",
            customer_name="花子",
            customer_zip_code="1500001",
            customer_address_1="東京都渋谷区",
            customer_tel="03-1234-5678",
            items=[SlipItem(3000, "本", date(2026, 4, 1)), SlipItem(300)],
        )
    assert isinstance(result, SlipResult) and result.ok
    assert result.slip_url == "https://kessai.test/cvs/slip/77/abc"
    assert result.bar_code == "9" * 44 and result.payment_limit_date == "20260430"
    assert seen[0].url.path == "/n/conveni/request_print"
    sent = dict(urllib.parse.parse_qsl(seen[0].content.decode("ascii"), encoding="cp932"))
    assert sent["telegram_kind"] == "040" and sent["customer_type"] == "0"
    assert (sent["customer_family_name"], sent["item_detail_1"]) == ("山田", "本")
    assert (sent["item_date_1"], sent["item_amount_1"], sent["item_amount_2"]) == (
        "20260401",
        "3000",
        "300",
    )
    assert "item_date_2" not in sent and "item_detail_2" not in sent


def test_more_than_20_items_are_refused_before_sending():
    with (
        KessaiClient(
            "https://kessai.test",
            merchant_id=1,
            connect_id="shop",
            connect_password="pw",
            transport=httpx.MockTransport(lambda request: httpx.Response(500)),
        ) as kessai,
        pytest.raises(ValueError, match="20"),
    ):
        kessai.apply_slip(
            payment_amount=21,
            customer_family_name="山田",
            customer_zip_code="1500001",
            customer_address_1="東京都",
            customer_tel="0312345678",
            items=[SlipItem(1)] * 21,
        )
