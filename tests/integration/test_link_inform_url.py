"""`inform_url` as maintained shop plugins send it (issue #19), over real HTTP.

On the `paygent` scheme a request with a non-empty `inform_url` is signed with the 12-value form
of §2.3 (item 6: `inform_url` between `id` and `seq_merchant_id`), one without it with the 11-value
form: the presence of the field decides, never a second try. The notices of a payment made on
such a page go to its `inform_url` (merchant setting `inform_url_mode`), through the same SSRF
guard as the merchant's notification URL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from kessai.app import Runtime
from kessai.core.merchants.commands import NewMerchant, update_merchant
from kessai.core.notifications.models import Notice, NoticeAttempt
from kessai.core.notifications.queries import list_notices
from kessai.core.notifications.signing import notice_hash
from kessai.worker.outbox import deliver_due
from tests.conftest import make_merchant
from tests.support.link import link_rows, post_link, url_mode_answer
from tests.support.link_page import OK_CARD, Shopper
from tests.support.receiver import Receiver
from tests.support.servers import serve_app
from tests.support.telegrams import send

# The 12 values of §2.3 item 6, in their order (written out here, not taken from the code tested).
TWELVE = ("trading_id", "payment_type", "fix_params", "id", "inform_url", "seq_merchant_id",
          "payment_term_day", "payment_term_min", "payment_class", "use_card_conf_number",
          "customer_id", "threedsecure_ryaku")  # fmt: skip
ELEVEN = tuple(name for name in TWELVE if name != "inform_url")
CART = "https://shop.example/usces-cart/"


def concatenation(fields: dict[str, str], order: tuple[str, ...] = TWELVE) -> str:
    return "".join(fields.get(name, "") for name in order)


def welcart_fields(
    merchant: NewMerchant, trading_id: str, inform_url: str = CART, **extra: str
) -> dict[str, str]:
    """A request as the Welcart plugin sends it: `inform_url` set, `hc` over 12 values."""
    fields = {
        "trading_id": trading_id,
        "payment_type": "02,03",
        "id": "2980",
        "inform_url": inform_url,
        "seq_merchant_id": str(merchant.merchant_id),
        "payment_term_day": "3",
        "return_url": "https://shop.example/thanks",
        **extra,
    }
    digest = hashlib.sha256((concatenation(fields) + merchant.hash_key).encode()).hexdigest()
    return {**fields, "hc": digest + "a1b2"}


def answer(server: str, fields: dict[str, str]) -> dict[str, str]:
    return url_mode_answer(post_link(server, fields, url_mode=True))


@pytest.fixture
def paygent_shop(runtime: Runtime) -> NewMerchant:
    return make_merchant(runtime, link_signature="paygent")


def test_a_12_value_request_with_inform_url_opens_the_page(server, paygent_shop):
    opened = answer(server, welcart_fields(paygent_shop, "WC1001"))
    assert opened["result"] == "0", opened
    assert opened["url"].startswith(server + "/link/")


def test_a_request_without_inform_url_is_still_checked_with_11_values(server, paygent_shop):
    fields = welcart_fields(paygent_shop, "WC1002", inform_url="")
    del fields["inform_url"]
    assert concatenation(fields) == concatenation(fields, ELEVEN)
    assert answer(server, fields)["result"] == "0"


def test_inform_url_added_to_an_11_value_hash_is_refused(server, runtime, paygent_shop):
    """Never two formulas tried: with inform_url present, only the 12-value hash opens the page."""
    signed = welcart_fields(paygent_shop, "WC1003", inform_url="")
    del signed["inform_url"]
    forged = {**signed, "inform_url": "https://attacker.example/"}
    assert answer(server, forged)["response_code"] == "6005"
    assert link_rows(runtime, paygent_shop) == 0


def test_a_12_value_hash_does_not_open_the_request_without_its_inform_url(
    server, runtime, paygent_shop
):
    forged = welcart_fields(paygent_shop, "WC1004")
    del forged["inform_url"]
    assert answer(server, forged)["response_code"] == "6005"
    assert link_rows(runtime, paygent_shop) == 0


def test_part_of_inform_url_moved_into_seq_merchant_id_is_refused(server, runtime, paygent_shop):
    shop_id = str(paygent_shop.merchant_id)
    signed = welcart_fields(paygent_shop, "WC1005", inform_url="https://shop.example/cart/3")
    # Another merchant whose id is the cut: its key is not the shop's.
    make_merchant(runtime, link_signature="paygent", merchant_id=int("3" + shop_id))
    forged = {
        **signed,
        "inform_url": "https://shop.example/cart/",
        "seq_merchant_id": "3" + shop_id,
    }
    assert concatenation(forged) == concatenation(signed)
    assert answer(server, forged)["response_code"] == "6005"
    # The other way: the merchant id's first digit into inform_url leaves a leading zero (or
    # another merchant), never the shop.
    forged = {**signed, "inform_url": signed["inform_url"] + shop_id[0],
              "seq_merchant_id": shop_id[1:]}  # fmt: skip
    assert concatenation(forged) == concatenation(signed)
    assert answer(server, forged)["result"] == "1"
    assert link_rows(runtime, paygent_shop) == 0


def test_part_of_inform_url_moved_into_id_is_refused(server, runtime, paygent_shop):
    signed = welcart_fields(paygent_shop, "WC1006")
    forged = {**signed, "id": signed["id"] + "h", "inform_url": signed["inform_url"][1:]}
    assert concatenation(forged) == concatenation(signed)
    assert answer(server, forged)["response_code"] == "6005"
    forged = {**signed, "id": signed["id"][:-1], "inform_url": "0" + signed["inform_url"]}
    assert concatenation(forged) == concatenation(signed)
    assert answer(server, forged)["response_code"] == "6005"
    assert link_rows(runtime, paygent_shop) == 0


@pytest.mark.parametrize("scheme", ["paygent", "hmac"])
def test_the_client_signs_inform_url_in_either_scheme(server, runtime, scheme):
    from kessai.client import signed_link

    shop = make_merchant(runtime, link_signature=scheme)
    link = signed_link(
        server,
        merchant_id=shop.merchant_id,
        hash_key=shop.hash_key,
        signature=scheme,
        trading_id="SDK" + scheme,
        amount=1200,
        payment_types=["02"],
        inform_url=CART,
    )
    assert link.fields["inform_url"] == CART
    opened = link.open_page()
    assert opened.ok, opened.fields
    other = {**link.fields, "inform_url": "https://shop.example/other/"}
    assert answer(server, other)["response_code"] == "6005"


@pytest.mark.parametrize("bad", ["https://shop.example/a\tb", "javascript:alert(1)//",
                                 "https://shop.example/" + "a" * 300])  # fmt: skip
def test_an_inform_url_not_in_its_canonical_form_is_refused_before_the_hash(
    server, runtime, paygent_shop, bad
):
    assert answer(server, welcart_fields(paygent_shop, "WC1007", inform_url=bad))["result"] == "1"
    assert link_rows(runtime, paygent_shop) == 0


# --- where the notices go ---------------------------------------------------------------------


@contextmanager
def two_receivers() -> Iterator[tuple[Receiver, str, Receiver, str]]:
    """The merchant's registered receiver and the plugin's receiver at its cart URL."""
    registered, cart = Receiver(), Receiver()
    with serve_app(registered.app) as registered_url, serve_app(cart.app) as cart_url:
        yield registered, registered_url + "/notify", cart, cart_url + "/notify"


def pay_on_page(server: str, page_url: str) -> None:
    shopper = Shopper(server)
    try:
        path = re.sub(r"^https?://[^/]+", "", page_url)
        shopper.get(path + "/card")
        sent = shopper.submit(
            "card-form", card_number=OK_CARD, expiry_month="12", expiry_year="30",
            holder_name="BAVYA",  # the sandbox ACS: frictionless success
        )  # fmt: skip
        done = shopper.follow(sent)
        assert 'id="done"' in done.text, done.text[:500]
    finally:
        shopper.close()


def notices_of(runtime: Runtime, merchant: NewMerchant) -> list[Notice]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(select(Notice).where(Notice.merchant_id == merchant.merchant_id))
        )


def set_merchant(runtime: Runtime, merchant: NewMerchant, **changes: str) -> None:
    with runtime.core.sessions.begin() as session:
        update_merchant(session, merchant.merchant_id, now=runtime.core.clock.now(), **changes)


@pytest.mark.parametrize("scheme", ["paygent", "hmac"])
def test_notices_of_the_payment_go_to_the_requests_inform_url(server, runtime, scheme):
    with two_receivers() as (registered, registered_url, cart, cart_url):
        shop = make_merchant(runtime, link_signature=scheme, notification_url=registered_url)
        fields = welcart_fields(shop, "WC2001", inform_url=cart_url, threedsecure_ryaku="0")
        if scheme == "hmac":
            from kessai.client import link_hmac

            fields["hc"] = link_hmac(fields, shop.hash_key)
        opened = answer(server, fields)
        assert opened["result"] == "0", opened
        pay_on_page(server, opened["url"])
        deliver_due(runtime.core, runtime.settings)
    [push] = cart.received
    assert push.fields["trading_id"] == "WC2001" and push.fields["payment_status"] == "20"
    assert push.fields["hc"] == notice_hash(push.fields, shop.notification_hash_key)
    assert registered.received == []  # default inform_url_mode=replace: instead of, not as well
    [notice] = notices_of(runtime, shop)
    assert notice.delivery_status == "delivered"
    with runtime.core.sessions() as session:  # what `kessai notices list` shows the operator
        [view] = list_notices(session, shop.merchant_id)
    assert view.push_url == cart_url


def test_a_merchant_set_to_ignore_gets_notices_at_its_own_url(server, runtime):
    with two_receivers() as (registered, registered_url, cart, cart_url):
        shop = make_merchant(runtime, link_signature="paygent", notification_url=registered_url)
        set_merchant(runtime, shop, inform_url_mode="ignore")
        fields = welcart_fields(shop, "WC2002", inform_url=cart_url, threedsecure_ryaku="0")
        opened = answer(server, fields)
        assert opened["result"] == "0", opened
        pay_on_page(server, opened["url"])
        deliver_due(runtime.core, runtime.settings)
    assert cart.received == []
    [push] = registered.received
    assert push.fields["trading_id"] == "WC2002"


def test_a_merchant_without_its_own_url_still_gets_notices_at_inform_url(server, runtime):
    with two_receivers() as (_registered, _url, cart, cart_url):
        shop = make_merchant(runtime, link_signature="paygent")
        fields = welcart_fields(shop, "WC2003", inform_url=cart_url, threedsecure_ryaku="0")
        opened = answer(server, fields)
        assert opened["result"] == "0", opened
        pay_on_page(server, opened["url"])
        deliver_due(runtime.core, runtime.settings)
    assert [push.fields["trading_id"] for push in cart.received] == ["WC2003"]


def test_production_refuses_an_inform_url_with_an_internal_address(server, runtime):
    shop = make_merchant(runtime, link_signature="paygent", mode="production")
    for url in ("http://127.0.0.1:8080/notify", "http://10.1.2.3/notify", "http://localhost/n"):
        refused = answer(server, welcart_fields(shop, "WC3001", inform_url=url))
        assert (refused["result"], refused["response_code"]) == ("1", "P010"), refused
    assert link_rows(runtime, shop) == 0


def test_notices_to_an_internal_inform_url_are_refused_at_send_time_in_production(server, runtime):
    """A page opened in sandbox mode whose merchant then moves to production: the address is
    checked again when the notice is sent, and nothing reaches the internal receiver."""
    with two_receivers() as (_registered, _url, cart, cart_url):
        shop = make_merchant(runtime, link_signature="paygent")
        fields = welcart_fields(shop, "WC3002", inform_url=cart_url, threedsecure_ryaku="0")
        opened = answer(server, fields)
        assert opened["result"] == "0", opened
        pay_on_page(server, opened["url"])
        set_merchant(runtime, shop, mode="production")
        deliver_due(runtime.core, runtime.settings)
    assert cart.received == []
    [notice] = notices_of(runtime, shop)
    assert notice.delivery_status == "pending"
    with runtime.core.sessions() as session:
        [attempt] = session.scalars(
            select(NoticeAttempt).where(NoticeAttempt.notice_id == notice.id)
        ).all()
    assert attempt.outcome == "connection_error" and "internal" in attempt.error


def test_notices_to_inform_url_keep_their_order_and_are_retried(server, runtime, clock):
    """The same delivery as to the notification URL: a refused push is retried after the back-off,
    and the capture's notice waits behind the authorisation's."""
    cart = Receiver(fail_first=1)
    with serve_app(cart.app) as cart_url:
        shop = make_merchant(runtime, link_signature="paygent")
        fields = welcart_fields(shop, "WC4001", inform_url=cart_url + "/notify", payment_type="02")
        opened = answer(server, fields)
        assert opened["result"] == "0", opened
        pay_on_page(server, opened["url"])
        [authorised] = notices_of(runtime, shop)
        captured = send(server, shop, "022", payment_id=authorised.payment_id)
        assert captured.result == "0", captured.fields
        deliver_due(runtime.core, runtime.settings)
        assert [r.fields["payment_status"] for r in cart.received] == ["20"]  # refused once
        clock.advance(timedelta(hours=2))  # past the back-off
        deliver_due(runtime.core, runtime.settings)  # the authorisation; the capture waited
        deliver_due(runtime.core, runtime.settings)
    statuses = [r.fields["payment_status"] for r in cart.received]
    assert statuses == ["20", "20", "40"]
    assert cart.answered_ok == sorted(cart.answered_ok) and len(cart.answered_ok) == 2
    assert {n.delivery_status for n in notices_of(runtime, shop)} == {"delivered"}
