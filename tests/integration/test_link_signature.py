"""Re-cut link requests (issue #11, items 1–3) replayed by a buyer over real HTTP, on both signature
schemes: the shop signs a request, the buyer moves characters from one signed field into the next
and sends the shop's `hc` unchanged. Every such request is refused and creates nothing.

The shop's signature is made exactly as a shop makes it (the SDK for hmac, the §2.3 formula for
paygent); the buyer only edits the form fields, as anyone holding the URL can.
"""

from __future__ import annotations

import httpx
import pytest

from kessai.client import link_hash
from kessai.core.merchants.commands import NewMerchant
from tests.conftest import make_merchant
from tests.support.link import link_fields, link_rows, post_link, url_mode_answer
from tests.support.telegrams import send

SCHEMES = ("paygent", "hmac")
PAYGENT_ORDER = ("trading_id", "payment_type", "fix_params", "id", "seq_merchant_id",
                 "payment_term_day", "payment_term_min", "payment_class", "use_card_conf_number",
                 "customer_id", "threedsecure_ryaku")  # fmt: skip


def scheme_merchant(runtime, scheme: str) -> NewMerchant:
    if scheme == "paygent":
        return make_merchant(runtime, link_signature="paygent")
    return make_merchant(runtime, link_signature="hmac")


def recut(signed: dict[str, str], **changes: str) -> dict[str, str]:
    """The buyer's request: the shop's fields and `hc`, some values changed ('' removes one)."""
    fields = {**signed, **changes}
    return {name: value for name, value in fields.items() if value != ""}


def concatenation(fields: dict[str, str]) -> str:
    """What §2.3 hashes (without the key): the re-cut keeps it, so `hc` still matches there."""
    return "".join(fields.get(name, "") for name in PAYGENT_ORDER)


def refused(server: str, fields: dict[str, str], charset: str = "cp932") -> dict[str, str]:
    answer = url_mode_answer(post_link(server, fields, charset=charset, url_mode=True), charset)
    assert answer["result"] == "1", answer
    return answer


@pytest.mark.parametrize("scheme", SCHEMES)
def test_attack_1_amount_moved_into_leading_zeros_of_the_merchant_id_is_refused(
    server, runtime, scheme
):
    shop = scheme_merchant(runtime, scheme)
    signed = link_fields(shop, "ORDER1", 10000)
    forged = recut(signed, id="1", seq_merchant_id=f"0000{shop.merchant_id}")
    assert concatenation(forged) == concatenation(signed)
    assert refused(server, forged)["response_code"] == "6005"
    assert link_rows(runtime, shop) == 0
    # The shop's real request for that order still opens its page, at its amount.
    answer = url_mode_answer(post_link(server, signed, url_mode=True))
    assert answer["result"] == "0", answer


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(
    "digits", ["０００００", "٠٠٠٠", "+"], ids=["full-width", "arabic-indic", "sign"]
)
def test_a_merchant_id_in_another_form_is_refused_before_the_hash(server, runtime, scheme, digits):
    shop = scheme_merchant(runtime, scheme)
    signed = link_fields(shop, "ORDER2", 1000)
    forged = recut(signed, seq_merchant_id=digits + str(shop.merchant_id))
    assert refused(server, forged, "utf-8")["response_code"] == "6005"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_attack_2_another_customers_stored_card_without_3ds_is_refused(server, runtime, scheme):
    shop = scheme_merchant(runtime, scheme)
    # Customer 10 has a stored card with the shop (kept by a module-type telegram).
    kept = send(
        server,
        shop,
        "025",
        customer_id="10",
        card_number="4900000000000000",
        card_valid_term="1230",
    )
    assert kept.result == "0", kept.fields
    extra = {"customer_id": "101"} | ({"stock_card_mode": "1"} if scheme == "hmac" else {})
    signed = link_fields(shop, "ORDER3", 5000, **extra)
    forged = recut(signed, customer_id="10", threedsecure_ryaku="1", stock_card_mode="1")
    assert concatenation(forged) == concatenation(signed)
    assert refused(server, forged)["response_code"] in ("6005", "P010")
    assert link_rows(runtime, shop) == 0


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_security_code_flag_moved_into_the_3ds_flag_is_refused(server, runtime, scheme):
    shop = scheme_merchant(runtime, scheme)
    signed = link_fields(shop, "ORDER4", 5000, use_card_conf_number="1")
    forged = recut(signed, use_card_conf_number="", threedsecure_ryaku="1")
    assert concatenation(forged) == concatenation(signed)
    refused(server, forged)
    assert link_rows(runtime, shop) == 0


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(
    ("signed_types", "trading_id", "payment_type"),
    [("02", "ORDER50", "2"), ("02,03", "ORDER502", ",03"), ("02,03", "ORDER50", "2,03")],
)
def test_attack_3_part_of_payment_type_moved_into_trading_id_is_refused(
    server, runtime, scheme, signed_types, trading_id, payment_type
):
    shop = scheme_merchant(runtime, scheme)
    signed = link_fields(shop, "ORDER5", 1000, payment_type=signed_types)
    forged = recut(signed, trading_id=trading_id, payment_type=payment_type)
    assert concatenation(forged) == concatenation(signed)
    assert refused(server, forged)["response_code"] == "6005"
    assert link_rows(runtime, shop) == 0


def test_on_hmac_no_recut_of_trading_id_payment_type_and_amount_survives(server, runtime):
    """The re-cuts canonical forms cannot catch (a whole method code, the amount's first digits
    moved into trading_id): the hmac scheme signs each value on its own line."""
    shop = scheme_merchant(runtime, "hmac")
    signed = link_fields(shop, "ORDER6", 1500, payment_type="02")
    for forged in (
        recut(signed, trading_id="ORDER602", payment_type=""),
        recut(signed, trading_id="ORDER6021", payment_type="", id="500"),
    ):
        assert concatenation(forged) == concatenation(signed)
        assert refused(server, forged)["response_code"] == "6005"
    assert link_rows(runtime, shop) == 0


def test_on_hmac_the_unsigned_by_paygent_stock_card_mode_is_signed(server, runtime):
    shop = scheme_merchant(runtime, "hmac")
    signed = link_fields(shop, "ORDER7", 1500, customer_id="cust7")
    assert refused(server, recut(signed, stock_card_mode="1"))["response_code"] == "6005"


def test_a_paygent_hash_never_opens_a_page_for_an_hmac_merchant(server, runtime):
    shop = scheme_merchant(runtime, "hmac")
    fields = link_fields(shop, "ORDER8", 1500)
    fields["hc"] = link_hash(fields, shop.hash_key)
    assert refused(server, fields)["response_code"] == "6005"


@pytest.mark.parametrize(
    "extra",
    [{"threedsecure_ryaku": "1"}, {"stock_card_mode": "1", "customer_id": "c1"}],
    ids=["skip-3ds", "stored-cards"],
)
def test_on_paygent_the_page_never_skips_3ds_nor_uses_stored_cards(server, runtime, extra):
    shop = scheme_merchant(runtime, "paygent")
    answer = refused(server, link_fields(shop, "ORDER9", 1500, **extra))
    assert answer["response_code"] == "P010"
    assert link_rows(runtime, shop) == 0


def test_the_client_signs_with_the_merchants_scheme(server, runtime):
    from kessai.client import signed_link

    for scheme in SCHEMES:
        shop = scheme_merchant(runtime, scheme)
        link = signed_link(
            server,
            merchant_id=shop.merchant_id,
            hash_key=shop.hash_key,
            signature=scheme,
            trading_id="SDK" + scheme,
            amount=1200,
            payment_types=["02"],
        )
        assert link.open_page().ok, scheme
        assert httpx.get(link.url, timeout=30).status_code == 303
