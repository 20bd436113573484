"""Production merchants are never served by a simulated institution (issue #11, item 5): every
method whose institution this gateway only simulates answers P007 (not contracted) before anything
is written, and a card payment without a configured acquirer (KESSAI_ACQUIRER_URL) is refused the
same way instead of being approved by PAYGENT's stub rules. Sandbox merchants keep the simulators."""

from __future__ import annotations

from kessai.app import Runtime
from kessai.core.merchants.commands import NewMerchant
from tests.conftest import make_merchant
from tests.support import carrier, vaccount
from tests.support.telegrams import Reply, send

# A real-looking card number the sandbox's stub rules approve (last digits 0000).
CARD = "4900000000000000"
SHOP = "https://shop.example"


def applications(server: str, merchant: NewMerchant, tag: str) -> dict[str, Reply]:
    """One application per method, each of which the sandbox merchant gets answered with 0."""
    payer: dict[str, str | int] = {"customer_family_name": "山田", "customer_name": "花子"}
    return {
        "card 020": send(
            server,
            merchant,
            "020",
            trading_id=f"{tag}C",
            payment_amount=1000,
            card_number=CARD,
            card_valid_term="1230",
        ),
        "ATM 010": send(
            server,
            merchant,
            "010",
            path="/n/atm/request",
            trading_id=f"{tag}A",
            payment_amount=5500,
            payment_detail="お買い物代金",
            payment_detail_kana="ｵｶｲﾓﾉﾀﾞｲｷﾝ",
            **payer,
        ),
        "CVS 030": send(
            server,
            merchant,
            "030",
            path="/n/conveni/request",
            trading_id=f"{tag}V",
            cvs_company_id="00C002",
            payment_amount=3300,
            customer_tel="0312345678",
            **payer,
        ),
        "slip 040": send(
            server,
            merchant,
            "040",
            path="/n/conveni/request_print",
            trading_id=f"{tag}S",
            payment_amount=3300,
            customer_zip_code="1500001",
            customer_address_1="東京都渋谷区神宮前1-2-3",
            customer_tel="03-1234-5678",
            **payer,
        ),
        "bank net 060": send(
            server,
            merchant,
            "060",
            path="/n/bank/requestasp",
            trading_id=f"{tag}B",
            amount=12345,
            claim_kana="ｵｶｲﾓﾉﾀﾞｲｷﾝ",
            claim_kanji="お買い物代金",
            receipt_name="テスト商店",
            merchant_name="テスト商店",
            return_url=f"{SHOP}/done",
            stop_return_url=f"{SHOP}/cart",
            free_memo="メモ",
            copy_right="(c) Test Shop",
            **payer,
        ),
        "virtual account 070": vaccount.apply(server, merchant, trading_id=f"{tag}R"),
        "carrier 100": carrier.apply(server, merchant, trading_id=f"{tag}K"),
    }


def test_production_merchant_gets_p007_for_every_method_no_real_institution_serves(
    server: str, runtime: Runtime, merchant: NewMerchant
) -> None:
    production = make_merchant(runtime, mode="production")  # the test gateway has no acquirer URL

    refused = applications(server, production, "FC")
    served = applications(server, merchant, "FC")

    assert {name: (r.result, r.code) for name, r in refused.items()} == dict.fromkeys(
        refused, ("1", "P007")
    )
    assert not any(r.fields.get("payment_id") for r in refused.values())
    inquiry = send(server, production, "094", trading_id="FCC")
    assert inquiry.code == "13001", inquiry.fields  # no such payment: nothing was written
    assert {name: r.result for name, r in served.items()} == dict.fromkeys(served, "0")
