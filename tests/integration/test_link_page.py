"""The hosted payment page over real HTTP, as a browser without JavaScript uses it: the shell, each
method to its end page, returns to the shop, and the page's own rules (one method skips the menu,
expired and unknown pages)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from kessai.app import build_runtime, create_app
from kessai.config import Settings
from kessai.core.link import logo
from kessai.worker.outbox import deliver_due
from tests.conftest import make_merchant
from tests.support.link import open_page_url
from tests.support.link_page import DECLINED_CARD, OK_CARD, Shopper, forms_of, payments_of
from tests.support.paid_later import notice_statuses
from tests.support.receiver import Receiver
from tests.support.servers import serve_app
from tests.support.telegrams import send

ALL = "02,03,01,05,06"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def shopper(server):
    browser = Shopper(server)
    yield browser
    browser.close()


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def pay_card(shopper: Shopper, url: str, number: str = OK_CARD, **extra: str):
    shopper.get(path_of(url) + "/card")
    values = {"expiry_month": "12", "expiry_year": "30", "holder_name": "taro yamada", **extra}
    return shopper.submit("card-form", card_number=number, **values)


class TestShell:
    def test_top_page_shows_the_order_and_only_the_offered_methods(self, server, merchant, shopper):
        url = open_page_url(
            server, merchant, payment_type="02,03", payment_detail="Tシャツ",
            free_memo="ご注文ありがとうございます", company_name="山田商事株式会社",
            copy_right="(c) Yamada", stop_return_url="https://shop.example/cart",
        )  # fmt: skip
        page = shopper.get(path_of(url))
        assert page.status_code == 200
        text = page.text
        for shown in (
            "テスト商店",
            "Tシャツ",
            "1,500円",
            "ご注文ありがとうございます",
            "山田商事株式会社",
            "(c) Yamada",
        ):
            assert shown in text
        assert re.search(r'id="limit">\d{4}年\d{1,2}月\d{1,2}日', text)
        assert 'id="method-card"' in text and 'id="method-cvs"' in text
        assert 'id="method-atm"' not in text and 'id="method-bank"' not in text
        assert 'href="https://shop.example/cart"' in text

    def test_abandon_link_is_hidden_without_stop_return_url(self, server, merchant, shopper):
        page = shopper.get(path_of(open_page_url(server, merchant, payment_type="02,03")))
        assert 'id="abandon"' not in page.text

    def test_one_method_skips_the_menu(self, server, merchant, shopper):
        url = open_page_url(server, merchant, payment_type="03")
        first = shopper.get(path_of(url))
        assert first.status_code == 303
        assert first.headers["location"] == path_of(url) + "/cvs"
        form = shopper.follow(first)
        assert 'id="cvs-form"' in form.text and 'id="back-to-menu"' not in form.text

    def test_unknown_token_is_a_404_page(self, server, shopper):
        page = shopper.get("/link/" + "x" * 32)
        assert page.status_code == 404
        assert "ページが見つかりません" in page.text

    def test_an_expired_page_answers_6002(self, server, merchant, shopper, clock):
        url = open_page_url(server, merchant, payment_term_min="5")
        clock.advance(timedelta(minutes=6))
        page = shopper.get(path_of(url))
        assert page.status_code == 400
        assert 'id="code">6002<' in page.text
        assert 'id="card-form"' not in shopper.get(path_of(url) + "/card").text

    def test_logo_is_shown_and_served_with_an_etag(self, server, merchant, shopper, runtime):
        logo.set_logo(runtime.core, merchant.merchant_id, PNG)
        page = shopper.get(path_of(open_page_url(server, merchant)))
        found = re.search(r'<img class="logo" src="([^"]+)"', page.text)
        assert found
        image = shopper.get(found.group(1).replace("&amp;", "&"))
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.content == PNG
        again = shopper.client.get(found.group(1), headers={"if-none-match": image.headers["etag"]})
        assert again.status_code == 304

    def test_no_logo_no_image(self, server, merchant, shopper):
        page = shopper.get(path_of(open_page_url(server, merchant)))
        assert 'class="logo"' not in page.text
        assert shopper.get(f"/link/logo/{merchant.merchant_id}").status_code == 404


class TestLanguages:
    def test_accept_language_english(self, server, merchant):
        shopper = Shopper(server, **{"accept-language": "en-US,en;q=0.9,ja;q=0.5"})
        page = shopper.get(path_of(open_page_url(server, merchant, amount=12345)))
        assert '<html lang="en">' in page.text
        assert "Choose a payment method" in page.text
        assert "¥12,345" in page.text
        assert "(Japan time)" in page.text
        assert re.search(r'id="method-card" href="/link/[^"?]+/card"', page.text)  # no ?lang=

    def test_lang_query_is_carried_on_every_link_and_form(self, server, merchant, shopper):
        url = path_of(open_page_url(server, merchant, amount=12345))
        page = shopper.get(url + "?lang=en")
        assert "¥12,345" in page.text
        links = re.findall(r'href="(/link/[^"]+)"', page.text)
        menu = [link for link in links if "switch-language" not in link and "/static/" not in link]
        assert menu and all("lang=en" in link for link in menu if "lang=ja" not in link)
        card = shopper.get(url + "/card?lang=en")
        assert forms_of(card.text)["card-form"].action.endswith("/card?lang=en")
        assert "Pay ¥12,345" in card.text

    def test_japanese_browser_gets_japanese(self, server, merchant):
        shopper = Shopper(server, **{"accept-language": "ja,en;q=0.5"})
        page = shopper.get(path_of(open_page_url(server, merchant)))
        assert '<html lang="ja">' in page.text and "1,500円" in page.text

    def test_language_code_of_the_request(self, server, merchant, shopper):
        page = shopper.get(path_of(open_page_url(server, merchant, language_code="en")))
        assert '<html lang="en">' in page.text


class TestCard:
    def test_a_card_payment_ends_on_the_completion_page(self, server, merchant, shopper, runtime):
        url = open_page_url(
            server, merchant, trading_id="CARD1", amount=2980, threedsecure_ryaku="1"
        )
        paid = pay_card(shopper, url)
        assert paid.status_code == 303
        done = shopper.follow(paid)
        assert 'id="done"' in done.text
        assert 'href="https://shop.example/thanks"' in done.text  # no parameters (§2.5)
        [payment] = payments_of(runtime, merchant.merchant_id, "CARD1")
        assert (payment.amount, payment.status, payment.details["payment_class"]) == (
            2980,
            "20",
            "10",
        )
        assert notice_statuses(runtime, merchant) == ["20"]
        again = shopper.get(path_of(url))  # the page stays paid
        assert 'id="done"' in again.text

    def test_finish_disable_goes_straight_back_to_the_shop(self, server, merchant, shopper):
        url = open_page_url(
            server, merchant, finish_disable="1", return_url="https://shop.example/ok"
        )
        form = shopper.get(path_of(url) + "/card")
        assert "form-action 'self' https://shop.example" in form.headers["content-security-policy"]
        paid = shopper.submit(
            "card-form", card_number=OK_CARD, holder_name="T Y", expiry_month="12", expiry_year="30"
        )
        assert paid.status_code == 303
        assert paid.headers["location"] == "https://shop.example/ok"

    def test_declined_card_comes_back_empty_but_for_name_and_expiry(
        self, server, merchant, shopper
    ):
        url = open_page_url(server, merchant)
        declined = pay_card(shopper, url, DECLINED_CARD, expiry_year="31")
        assert declined.status_code == 400
        assert 'id="problem"' in declined.text and 'id="remaining"' in declined.text
        fields = forms_of(declined.text)["card-form"].fields
        assert fields["card_number"] == ""
        assert (fields["holder_name"], fields["expiry_year"]) == ("taro yamada", "31")
        assert DECLINED_CARD not in declined.text

    def test_five_declines_lock_the_card_form(self, server, merchant, shopper):
        url = open_page_url(server, merchant)
        for _ in range(4):
            assert pay_card(shopper, url, DECLINED_CARD).status_code == 400
        locked = pay_card(shopper, url, DECLINED_CARD)
        assert locked.status_code == 403 and 'id="locked"' in locked.text
        assert 'id="locked"' in shopper.get(path_of(url) + "/card").text
        assert "ご利用いただけません" in shopper.get(path_of(url)).text

    def test_security_code_is_asked_only_when_the_request_says_so(self, server, merchant, shopper):
        plain = shopper.get(path_of(open_page_url(server, merchant, trading_id="A1")) + "/card")
        assert 'name="security_code"' not in plain.text
        asked = path_of(open_page_url(server, merchant, trading_id="A2", use_card_conf_number="1"))
        assert 'name="security_code"' in shopper.get(asked + "/card").text
        missing = shopper.submit(
            "card-form", card_number=OK_CARD, holder_name="T Y", expiry_month="12", expiry_year="30"
        )
        assert missing.status_code == 400 and "セキュリティコード" in missing.text

    def test_payment_class_1_offers_instalments(self, server, merchant, shopper, runtime):
        url = open_page_url(server, merchant, trading_id="SPLIT", payment_class="1")
        form = shopper.get(path_of(url) + "/card")
        for code in ("10", "61", "80", "23"):
            assert f'name="payment_class" value="{code}"' in form.text
        paid = shopper.submit(
            "card-form", card_number=OK_CARD, holder_name="T Y", payment_class="61", split_count="3",
            expiry_month="12", expiry_year="30",
        )  # fmt: skip
        assert paid.status_code == 303
        [payment] = payments_of(runtime, merchant.merchant_id, "SPLIT")
        assert (payment.details["payment_class"], payment.details["split_count"]) == ("61", "3")

    def test_expiry_must_be_chosen(self, server, merchant, shopper, runtime):
        url = open_page_url(server, merchant, trading_id="EXP")
        refused = pay_card(shopper, url, expiry_month="", expiry_year="")
        assert refused.status_code == 400 and "有効期限" in refused.text
        assert payments_of(runtime, merchant.merchant_id, "EXP") == []

    def test_payment_class_2_has_no_bonus(self, server, merchant, shopper):
        form = shopper.get(path_of(open_page_url(server, merchant, payment_class="2")) + "/card")
        assert 'value="61"' in form.text and 'value="23"' not in form.text


class TestNumbers:
    def test_cvs_number_with_the_chains_instructions(self, server, merchant, shopper, runtime):
        url = open_page_url(
            server, merchant, trading_id="CVS1", amount=3300, payment_type="03,02",
            customer_family_name="山田", customer_name="太郎", fix_params="customer_family_name",
        )  # fmt: skip
        form = shopper.get(path_of(url) + "/cvs")
        assert re.search(
            r'name="customer_family_name" type="text" value="山田" readonly', form.text
        )
        issued = shopper.submit(
            "cvs-form", cvs_company_id="00C002", customer_family_name="別人",
            customer_family_name_kana="ヤマダ", customer_name_kana="タロウ", customer_tel="0312345678",
        )  # fmt: skip
        assert issued.status_code == 303
        page = shopper.follow(issued)
        assert 'id="receipt-number"' in page.text and "ローソン" in page.text
        assert "Loppi" in page.text
        print_url = re.search(r'<a href="([^"]+)" id="print"', page.text)
        assert print_url
        printable = shopper.get(print_url.group(1))
        assert printable.status_code == 200 and "お支払い方法のご案内" in printable.text
        [payment] = payments_of(runtime, merchant.merchant_id, "CVS1")
        assert (payment.payment_type, payment.amount, payment.status) == ("03", 3300, "10")
        assert payment.details["customer_family_name"] == "山田"  # fixed by the shop
        assert notice_statuses(runtime, merchant) == ["10"]
        assert 'id="receipt-number"' in shopper.get(path_of(url)).text  # shown again

    def test_cvs_form_names_a_missing_field(self, server, merchant, shopper, runtime):
        url = open_page_url(server, merchant, trading_id="CVS2", payment_type="03,02")
        shopper.get(path_of(url) + "/cvs")
        refused = shopper.submit("cvs-form", customer_family_name="山田", customer_name="太郎")
        assert refused.status_code == 400 and "電話番号" in refused.text
        assert refused.text.count('value="山田"') == 1  # what was typed stays
        assert payments_of(runtime, merchant.merchant_id, "CVS2") == []

    def test_pay_easy_numbers(self, server, merchant, shopper, runtime):
        url = open_page_url(server, merchant, trading_id="ATM1", payment_type="01,02")
        shopper.get(path_of(url) + "/atm")
        issued = shopper.submit("atm-form", customer_family_name="山田", customer_name="太郎")
        page = shopper.follow(issued)
        for shown in ("pay-center-number", "customer-number", "conf-number", "due"):
            assert f'id="{shown}"' in page.text
        [payment] = payments_of(runtime, merchant.merchant_id, "ATM1")
        assert (payment.payment_type, payment.amount) == ("01", 1500)


class TestRedirects:
    def test_bank_net_to_the_bank_and_back_paid(self, server, merchant, shopper, runtime):
        url = open_page_url(server, merchant, trading_id="BANK1", payment_type="05,02")
        shopper.get(path_of(url) + "/bank")
        to_banks = shopper.submit("bank-form")
        assert to_banks.status_code == 303 and to_banks.headers["location"].startswith(
            "/banking/asp?"
        )
        selection = shopper.follow(to_banks)
        bank_code = re.search(r'name="bank_code" value="([^"]+)"', selection.text).group(1)
        at_bank = shopper.follow(shopper.submit("0", page=selection, bank_code=bank_code))
        back = shopper.submit("0", page=at_bank, action="pay")
        assert back.status_code == 303
        assert path_of(back.headers["location"]).startswith(path_of(url) + "/back")
        done = shopper.follow(back)
        assert 'id="done"' in done.text
        paid = [p for p in payments_of(runtime, merchant.merchant_id, "BANK1") if p.status == "40"]
        assert len(paid) == 1 and paid[0].amount == 1500

    def test_bank_net_abandoned_shows_the_menu_with_a_note(self, server, merchant, shopper):
        url = open_page_url(server, merchant, trading_id="BANK2", payment_type="05,02")
        shopper.get(path_of(url) + "/bank")
        selection = shopper.follow(shopper.submit("bank-form"))
        bank_code = re.search(r'name="bank_code" value="([^"]+)"', selection.text).group(1)
        at_bank = shopper.follow(shopper.submit("0", page=selection, bank_code=bank_code))
        top = shopper.follow(shopper.submit("0", page=at_bank, action="abandon"))
        assert 'id="note"' in top.text and 'id="methods"' in top.text

    def test_a_carrier_the_page_does_not_offer_is_asked_again(
        self, server, merchant, shopper, runtime
    ):
        url = open_page_url(server, merchant, trading_id="CAR0", payment_type="06,02")
        shopper.get(path_of(url) + "/carrier")
        again = shopper.submit("carrier-form", career_type="2")  # au matomete: module type only
        assert again.status_code == 400 and 'id="problem"' in again.text
        assert payments_of(runtime, merchant.merchant_id, "CAR0") == []

    def test_carrier_approval_comes_back_paid(self, server, merchant, shopper, runtime):
        url = open_page_url(server, merchant, trading_id="CAR1", payment_type="06,02")
        form = shopper.get(path_of(url) + "/carrier")
        assert 'value="5"' in form.text and 'value="4"' in form.text and 'value="6"' in form.text
        to_carrier = shopper.submit("carrier-form", career_type="6")
        assert to_carrier.status_code == 303
        assert to_carrier.headers["location"].startswith("/carrier/pay/")
        shopper.follow(to_carrier)
        back = shopper.client.post(
            to_carrier.headers["location"], data={"step": "approve", "login_id": "09012345678"}
        )
        assert back.status_code == 303
        done = shopper.follow(back)
        assert 'id="done"' in done.text
        [payment] = payments_of(runtime, merchant.merchant_id, "CAR1")
        assert (payment.payment_type, payment.status, payment.amount) == ("06", "20", 1500)

    def test_carrier_cancel_returns_to_the_menu(self, server, merchant, shopper):
        url = open_page_url(server, merchant, trading_id="CAR2", payment_type="06,02")
        shopper.get(path_of(url) + "/carrier")
        to_carrier = shopper.submit("carrier-form")
        back = shopper.client.post(to_carrier.headers["location"], data={"step": "cancel"})
        top = shopper.follow(back)
        assert "お支払いを中止しました" in top.text


class TestTransport:
    def test_a_plain_http_page_does_not_claim_encryption(self, server, merchant, shopper):
        page = shopper.get(path_of(open_page_url(server, merchant)))
        assert "通信は暗号化されています" not in page.text
        assert "strict-transport-security" not in page.headers

    def test_behind_an_https_base_url_the_page_says_so_and_sends_hsts(
        self, database_url, home, clock, merchant
    ):
        settings = Settings(home=home, database_url=database_url, public_url="https://pay.example")
        runtime = build_runtime(settings, clock=clock)
        try:
            with serve_app(create_app(runtime), http="h11") as base:
                url = open_page_url(base, merchant)
                page = httpx.get(base + path_of(url), timeout=30)
        finally:
            runtime.engine.dispose()
        assert url.startswith("https://pay.example/link/")
        assert "通信は暗号化されています" in page.text
        assert page.headers["strict-transport-security"].startswith("max-age=")


class TestStoredCards:
    def test_a_card_kept_on_one_order_is_offered_and_pays_the_next(
        self, server, merchant, shopper, runtime
    ):
        first = open_page_url(server, merchant, trading_id="K1", stock_card_mode="1",
                              customer_id="cust42")  # fmt: skip
        form = shopper.get(path_of(first) + "/card")
        assert 'id="save_card"' in form.text and 'id="stored-cards"' not in form.text
        paid = pay_card(shopper, first, save_card="1")
        assert paid.status_code == 303
        second = open_page_url(server, merchant, trading_id="K2", stock_card_mode="1",
                               customer_id="cust42")  # fmt: skip
        offered = shopper.get(path_of(second) + "/card")
        assert 'id="stored-cards"' in offered.text and "************0000" in offered.text
        assert OK_CARD not in offered.text
        choice = forms_of(offered.text)["card-form"].fields["card_choice"]
        assert choice.isdigit()
        done = shopper.follow(shopper.submit("card-form", card_choice=choice))
        assert 'id="done"' in done.text
        [payment] = payments_of(runtime, merchant.merchant_id, "K2")
        assert payment.status == "20"

    def test_mode_2_says_the_card_will_be_kept(self, server, merchant, shopper):
        url = open_page_url(server, merchant, stock_card_mode="2", customer_id="cust43")
        form = shopper.get(path_of(url) + "/card")
        assert 'id="card-kept"' in form.text and 'id="save_card"' not in form.text


class TestThreeDSecure:
    def test_the_page_comes_back_from_3ds_in_the_language_the_buyer_chose(
        self, server, merchant, shopper, runtime
    ):
        url = open_page_url(server, merchant, trading_id="E3DS", threedsecure_ryaku="0")
        shopper.get(path_of(url) + "/card?lang=en")
        sent = shopper.submit(
            "card-form",
            card_number=OK_CARD,
            expiry_month="12",
            expiry_year="30",
            holder_name="BAVYA",  # the sandbox ACS: frictionless success
        )
        done = shopper.follow(sent)
        assert 'id="done"' in done.text and "Payment complete" in done.text
        assert "lang=en" in str(done.url)
        [payment] = payments_of(runtime, merchant.merchant_id, "E3DS")
        assert payment.status == "20"


class TestResultsReachTheShop:
    def test_by_the_notification_and_091_never_on_the_return_url(self, server, runtime):
        receiver = Receiver()
        with serve_app(receiver.app) as receiver_url:
            merchant = make_merchant(runtime, notification_url=receiver_url + "/notify")
            url = open_page_url(server, merchant, trading_id="RES1", amount=4321,
                                return_url="https://shop.example/thanks?order=RES1")  # fmt: skip
            shopper = Shopper(server)
            try:
                done = shopper.follow(pay_card(shopper, url))
            finally:
                shopper.close()
            back = forms_of(done.text)  # the way back is a plain link, not a form
            assert back == {} and 'href="https://shop.example/thanks?order=RES1"' in done.text
            deliver_due(runtime.core, runtime.settings)
        [pushed] = [r.fields for r in receiver.received]
        assert (pushed["trading_id"], pushed["payment_type"]) == ("RES1", "02")
        assert (pushed["payment_status"], pushed["payment_amount"]) == ("20", "4321")
        pulled = send(server, merchant, "091")
        assert (pulled["trading_id"], pulled["payment_status"]) == ("RES1", "20")
        assert pulled["payment_id"] == pushed["payment_id"]
