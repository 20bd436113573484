"""Paying on the hosted page, at the core: each method's step makes one payment under the request's
trading_id and amount, a page stays paid once paid, and a double submission never pays twice."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from kessai.connectors.base import CarrierConsent
from kessai.core.context import MerchantRef
from kessai.core.link import pay
from kessai.core.link.pay import Buyer, CardEntry, StoredChoice
from kessai.core.link.requests import LinkError, open_link, page
from kessai.core.payments.banknet import buyer as banknet_buyer
from kessai.core.payments.banknet import commands as banknet
from kessai.core.payments.carrier import commands as carrier
from kessai.kit.errors import InProgress, InvalidRequest, InvalidState, NotFound
from kessai.kit.secrets import CardNumber, SecurityCode
from tests.support.link import link_fields
from tests.support.paid_later import notice_statuses
from tests.support.telegrams import authorised

OK = "4900000000000000"
DECLINED = "4900000000008101"  # auth NG 2002 / 1C01 (§4)
BUYER = Buyer("山田", "太郎", "ヤマダ", "タロウ", "0312345678")


def opened(runtime, merchant, trading_id: str = "L1", **extra: str) -> str:
    """A page; without 3-D Secure unless the test asks for it (`threedsecure_ryaku="0"`)."""
    extra.setdefault("threedsecure_ryaku", "1")
    fields = link_fields(merchant, trading_id, **extra)
    return open_link(runtime.core, fields, charset="utf-8").token


def page_merchant(runtime, merchant) -> MerchantRef:
    return MerchantRef(id=merchant.merchant_id, mode="sandbox")


def card(number: str = OK, holder: str = "TARO YAMADA", **kw: str) -> CardEntry:
    return CardEntry(CardNumber(number), "1230", SecurityCode("123"), holder, **kw)


class TestCard:
    def test_an_authorised_card_pays_the_order_once(self, runtime, merchant):
        token = opened(runtime, merchant, amount=2980)
        outcome = pay.pay_by_card(runtime.core, token, card(), base_url="http://x")
        assert outcome.status == "authorised"
        assert outcome.payment is not None
        assert (outcome.payment.trading_id, outcome.payment.amount) == ("L1", 2980)
        assert outcome.payment.status == "20"
        assert notice_statuses(runtime, merchant) == ["20"]
        assert page(runtime.core, token).standing == "paid"
        with pytest.raises(LinkError) as again:
            pay.pay_by_card(runtime.core, token, card(), base_url="http://x")
        assert again.value.code == "6001"

    def test_sales_flg_captures_at_once(self, runtime, merchant):
        token = opened(runtime, merchant, sales_flg="1")
        outcome = pay.pay_by_card(runtime.core, token, card(), base_url="http://x")
        assert outcome.payment is not None and outcome.payment.status == "40"

    def test_declines_are_counted_and_lock_the_page_at_five(self, runtime, merchant):
        token = opened(runtime, merchant)
        statuses = [
            pay.pay_by_card(runtime.core, token, card(DECLINED), base_url="http://x").status
            for _ in range(5)
        ]
        assert statuses == ["declined"] * 4 + ["locked"]
        assert pay.pay_by_card(runtime.core, token, card(), base_url="http://x").status == "locked"
        assert page(runtime.core, token).standing == "open"

    def test_a_declined_card_can_be_followed_by_a_good_one(self, runtime, merchant):
        token = opened(runtime, merchant)
        declined = pay.pay_by_card(runtime.core, token, card(DECLINED), base_url="http://x")
        assert (declined.status, declined.response_code) == ("declined", "2002")
        assert (
            pay.pay_by_card(runtime.core, token, card(), base_url="http://x").status == "authorised"
        )

    @pytest.mark.parametrize(
        ("payment_class", "entry", "code"),
        [
            ("0", {"payment_class": "61", "split_count": "3"}, "P010"),
            ("2", {"payment_class": "23"}, "P010"),
            ("1", {"payment_class": "61"}, "P030"),
            ("1", {"payment_class": "61", "split_count": "7"}, "P030"),
        ],
    )
    def test_payment_classes_follow_the_request(
        self, runtime, merchant, payment_class, entry, code
    ):
        token = opened(runtime, merchant, payment_class=payment_class)
        with pytest.raises(InvalidRequest) as refused:
            pay.pay_by_card(runtime.core, token, card(**entry), base_url="http://x")
        assert refused.value.code == code
        assert pay.current_payment(runtime.core, page(runtime.core, token)) is None

    def test_instalments_when_the_request_allows_them(self, runtime, merchant):
        token = opened(runtime, merchant, payment_class="1")
        outcome = pay.pay_by_card(
            runtime.core, token, card(payment_class="61", split_count="3"), base_url="http://x"
        )
        assert outcome.status == "authorised"

    def test_a_double_submission_makes_one_payment(self, runtime, merchant):
        token = opened(runtime, merchant)
        outcomes: list[object] = []

        def submit() -> None:
            try:
                outcomes.append(
                    pay.pay_by_card(runtime.core, token, card(), base_url="http://x").status
                )
            except (InProgress, LinkError) as refused:
                outcomes.append(refused.code)

        threads = [threading.Thread(target=submit) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcomes.count("authorised") == 1, outcomes
        assert set(outcomes) <= {"authorised", "9005", "6001"}
        assert notice_statuses(runtime, merchant) == ["20"]


class TestThreeDSecure:
    """The card step through the simulated ACS (§4 names), followed as the buyer's browser does."""

    def redirected(self, runtime, server, token: str, entry: CardEntry) -> str:
        outcome = pay.pay_by_card(runtime.core, token, entry, base_url=server)
        assert outcome.status == "redirect", outcome
        assert outcome.redirect_url.startswith(server + "/3ds/acs/")
        return outcome.redirect_url

    def back_on_the_page(self, response: httpx.Response, token: str) -> dict[str, str]:
        assert response.status_code == 303, response.text
        location = urlsplit(response.headers["location"])
        assert location.path == f"/link/{token}/card/3ds"
        return dict(parse_qsl(location.query, keep_blank_values=True))

    def test_frictionless_success_authorises_with_the_authenticated_card(
        self, runtime, server, merchant
    ):
        token = opened(runtime, merchant, threedsecure_ryaku="0", payment_class="1")
        entry = card(holder="BAVYA", payment_class="61", split_count="3")
        params = self.back_on_the_page(
            httpx.get(self.redirected(runtime, server, token, entry)), token
        )
        outcome = pay.finish_card_3ds(runtime.core, token, params)
        assert outcome.status == "authorised"
        assert outcome.payment is not None
        assert outcome.payment.details["split_count"] == "3"
        assert page(runtime.core, token).standing == "paid"
        with pytest.raises(LinkError) as replayed:
            pay.finish_card_3ds(runtime.core, token, params)
        assert replayed.value.code == "6001"

    def test_a_challenge_answered_with_the_password_authorises(self, runtime, server, merchant):
        token = opened(runtime, merchant, threedsecure_ryaku="0")
        acs = self.redirected(runtime, server, token, card(holder="BAVCA"))
        form = httpx.get(acs)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
        assert csrf is not None and 'type="password"' in form.text
        answered = httpx.post(acs, data={"password": "14012", "csrf": csrf.group(1)})
        params = self.back_on_the_page(answered, token)
        assert pay.finish_card_3ds(runtime.core, token, params).status == "authorised"

    def test_a_failed_authentication_is_a_decline_and_charges_nothing(
        self, runtime, server, merchant
    ):
        token = opened(runtime, merchant, threedsecure_ryaku="0")
        acs = self.redirected(runtime, server, token, card(holder="BAVNA"))
        params = self.back_on_the_page(httpx.get(acs), token)
        outcome = pay.finish_card_3ds(runtime.core, token, params)
        assert (outcome.status, outcome.response_code) == ("declined", "31007")
        assert pay.current_payment(runtime.core, page(runtime.core, token)) is None
        assert page(runtime.core, token).card_failures == 1

    def test_a_result_with_a_forged_hash_is_refused(self, runtime, server, merchant):
        token = opened(runtime, merchant, threedsecure_ryaku="0")
        acs = self.redirected(runtime, server, token, card(holder="BAVNA"))
        params = self.back_on_the_page(httpx.get(acs), token)
        forged = {**params, "result": "0", "response_code": ""}
        with pytest.raises(InvalidRequest) as refused:
            pay.finish_card_3ds(runtime.core, token, forged)
        assert refused.value.field == "hc"
        assert pay.current_payment(runtime.core, page(runtime.core, token)) is None


class TestStoredCards:
    """stock_card_mode: the page keeps a card that paid for the request's customer_id."""

    def stored(self, runtime, token):
        return pay.stored_cards(runtime.core, page(runtime.core, token))

    def test_a_card_kept_on_one_order_pays_the_next(self, runtime, merchant):
        first = opened(runtime, merchant, "S1", stock_card_mode="1", customer_id="cust9")
        paid = pay.pay_by_card(runtime.core, first, card(save=True), base_url="http://x")
        assert paid.status == "authorised" and paid.payment is not None
        second = opened(runtime, merchant, "S2", stock_card_mode="1", customer_id="cust9")
        [kept] = self.stored(runtime, second)
        assert kept.masked_card_number.endswith("0000")
        outcome = pay.pay_with_stored_card(
            runtime.core, second, StoredChoice(kept.customer_card_id), base_url="http://x"
        )
        assert outcome.status == "authorised" and outcome.payment is not None
        assert outcome.payment.vault_card_id == paid.payment.vault_card_id
        assert outcome.payment.trading_id == "S2"

    def test_mode_1_keeps_nothing_unless_asked_and_mode_2_always_keeps(self, runtime, merchant):
        asked_not = opened(runtime, merchant, "S3", stock_card_mode="1", customer_id="c1")
        pay.pay_by_card(runtime.core, asked_not, card(), base_url="http://x")
        assert self.stored(runtime, opened(runtime, merchant, "S4", stock_card_mode="1",
                                           customer_id="c1")) == []  # fmt: skip
        forced = opened(runtime, merchant, "S5", stock_card_mode="2", customer_id="c2")
        pay.pay_by_card(runtime.core, forced, card(), base_url="http://x")
        assert len(self.stored(runtime, opened(runtime, merchant, "S6", stock_card_mode="2",
                                               customer_id="c2"))) == 1  # fmt: skip

    def test_the_same_card_is_kept_once(self, runtime, merchant):
        for trading_id in ("S7", "S8"):
            token = opened(runtime, merchant, trading_id, stock_card_mode="2", customer_id="c3")
            pay.pay_by_card(runtime.core, token, card(), base_url="http://x")
        token = opened(runtime, merchant, "S9", stock_card_mode="2", customer_id="c3")
        assert len(self.stored(runtime, token)) == 1

    def test_a_declined_card_is_not_kept(self, runtime, merchant):
        token = opened(runtime, merchant, "S10", stock_card_mode="2", customer_id="c4")
        pay.pay_by_card(runtime.core, token, card(DECLINED), base_url="http://x")
        assert self.stored(runtime, token) == []

    def test_another_customers_card_is_refused(self, runtime, merchant):
        mine = opened(runtime, merchant, "S11", stock_card_mode="2", customer_id="c5")
        pay.pay_by_card(runtime.core, mine, card(), base_url="http://x")
        [kept] = self.stored(runtime, opened(runtime, merchant, "S12", stock_card_mode="2",
                                             customer_id="c5"))  # fmt: skip
        theirs = opened(runtime, merchant, "S13", stock_card_mode="1", customer_id="c6")
        with pytest.raises(NotFound) as refused:
            pay.pay_with_stored_card(
                runtime.core, theirs, StoredChoice(kept.customer_card_id), base_url="http://x"
            )
        assert refused.value.code == "P025"
        assert pay.current_payment(runtime.core, page(runtime.core, theirs)) is None

    def test_keeping_cards_needs_a_customer_id(self, runtime, merchant):
        with pytest.raises(InvalidRequest) as refused:
            opened(runtime, merchant, "S14", stock_card_mode="1")
        assert (refused.value.code, refused.value.field) == ("P005", "customer_id")

    def test_a_card_kept_through_3ds_and_a_stored_card_through_3ds(self, runtime, server, merchant):
        token = opened(runtime, merchant, "S15", stock_card_mode="1", customer_id="c7",
                       threedsecure_ryaku="0")  # fmt: skip
        outcome = pay.pay_by_card(runtime.core, token, card(holder="BAVYA", save=True),
                                  base_url=server)  # fmt: skip
        params = TestThreeDSecure().back_on_the_page(httpx.get(outcome.redirect_url), token)
        assert params["save"] == "1"
        assert pay.finish_card_3ds(runtime.core, token, params).status == "authorised"
        again = opened(runtime, merchant, "S16", stock_card_mode="1", customer_id="c7",
                       threedsecure_ryaku="0")  # fmt: skip
        [kept] = self.stored(runtime, again)
        redirect = pay.pay_with_stored_card(
            runtime.core, again, StoredChoice(kept.customer_card_id), base_url=server
        )
        assert redirect.status == "redirect"
        params = TestThreeDSecure().back_on_the_page(httpx.get(redirect.redirect_url), again)
        assert pay.finish_card_3ds(runtime.core, again, params).status == "authorised"


class TestPaidLater:
    def test_a_cvs_number_is_issued_once_with_the_fixed_names(self, runtime, merchant):
        token = opened(
            runtime,
            merchant,
            payment_term_day="3",
            fix_params="customer_family_name,customer_name",
            customer_family_name="佐藤",
            customer_name="花子",
        )
        view = pay.apply_cvs(runtime.core, token, chain="00C002", buyer=BUYER)
        assert (view.status, view.trading_id, view.amount) == ("10", "L1", 1500)
        assert view.details["customer_family_name"] == "佐藤"  # fixed by the merchant
        assert view.details["customer_tel"] == "0312345678"
        shown = page(runtime.core, token)
        assert (shown.standing, shown.payment_id) == ("issued", view.payment_id)
        with pytest.raises(LinkError) as again:
            pay.apply_atm(runtime.core, token, buyer=BUYER)
        assert again.value.code == "6003"

    def test_seven_eleven_numbers_are_prepaid(self, runtime, merchant):
        token = opened(runtime, merchant)
        view = pay.apply_cvs(runtime.core, token, chain="00C001", buyer=BUYER)
        assert view.details["sales_type"] == "1"

    @pytest.mark.parametrize(
        ("chain", "buyer", "code", "field"),
        [
            ("00C004", BUYER, "P010", "cvs_company_id"),  # Ministop: module type only
            ("00C002", Buyer("山田", "太郎"), "P006", "customer_tel"),
            ("00C002", Buyer("山田", "太郎", tel="03-1234"), "P008", "customer_tel"),
            (
                "00C002",
                Buyer("山田", "太郎", "やまだ", tel="0312345678"),
                "P008",
                "customer_family_name_kana",
            ),
        ],
    )
    def test_bad_cvs_entries_are_refused(self, runtime, merchant, chain, buyer, code, field):
        token = opened(runtime, merchant)
        with pytest.raises(InvalidRequest) as refused:
            pay.apply_cvs(runtime.core, token, chain=chain, buyer=buyer)
        assert (refused.value.code, refused.value.field) == (code, field)
        assert page(runtime.core, token).standing == "open"

    def test_atm_numbers_for_the_order(self, runtime, merchant):
        token = opened(runtime, merchant, payment_detail="家具代金")
        view = pay.apply_atm(runtime.core, token, buyer=BUYER)
        assert view.payment_type == "01"
        assert view.details["payment_detail"] == "家具代金"
        assert view.details["customer_number"]

    def test_a_method_the_page_does_not_offer_is_refused(self, runtime, merchant):
        token = opened(runtime, merchant, payment_type="02")
        with pytest.raises(InvalidRequest) as refused:
            pay.apply_atm(runtime.core, token, buyer=BUYER)
        assert refused.value.code == "P007"

    def test_an_expired_page_takes_nothing(self, runtime, merchant, clock):
        token = opened(runtime, merchant, payment_term_day="0")
        clock.advance(timedelta(days=1))
        with pytest.raises(LinkError) as refused:
            pay.apply_atm(runtime.core, token, buyer=BUYER)
        assert refused.value.code == "6002"


class TestRedirectedMethods:
    def test_a_carrier_approval_after_the_order_was_paid_by_card_takes_nothing(
        self, runtime, merchant
    ):
        token = opened(runtime, merchant)
        pending = pay.start_carrier(runtime.core, token, career_type="5",
                                    back_url="https://k.example/b", cancel_url="https://k.example/c")  # fmt: skip
        assert (
            pay.pay_by_card(runtime.core, token, card(), base_url="http://x").status == "authorised"
        )
        secret = runtime.core.secret
        answer = carrier.approve(
            runtime.core, pending.payment_id, carrier.consent_token(secret, pending.payment_id),
            CarrierConsent("buyer", "ok"),
        )  # fmt: skip
        assert (answer.ok, answer.response_code) == (False, "6001")
        assert answer.payment is not None and answer.payment.status == "15"

    def test_a_bank_payment_after_the_order_got_a_cvs_number_is_refused(self, runtime, merchant):
        token = opened(runtime, merchant)
        application = pay.start_bank_net(runtime.core, token, back_url="https://k.example/b")
        shown = page(runtime.core, token)
        at_bank = banknet.choose_bank(runtime.core, shown.merchant, application.request_id, "0001")
        pay.apply_cvs(runtime.core, token, chain="00C002", buyer=BUYER)
        bank_token = banknet_buyer.bank_token(runtime.core.secret, at_bank.payment_id)
        with pytest.raises(InvalidState) as refused:
            banknet_buyer.answer(runtime.core, at_bank.payment_id, bank_token, "pay")
        assert refused.value.code == "5008"
        assert (
            banknet_buyer.at_bank(runtime.core, at_bank.payment_id, bank_token).payment.status
            == "10"
        )

    def test_a_carrier_payment_of_a_module_type_order_is_not_held_back(
        self, runtime, server, merchant
    ):
        # Without a hosted page for the trading_id, the merchant's own telegrams decide.
        view = carrier.apply(
            runtime.core, page_merchant(runtime, merchant),
            carrier.CarrierRequest(career_type="5", amount=1000, return_url="https://k.example/r",
                                   cancel_url="https://k.example/c", trading_id="MOD1"),
        )  # fmt: skip
        authorised(server, merchant, "MOD1")
        answer = carrier.approve(
            runtime.core, view.payment_id, carrier.consent_token(runtime.core.secret, view.payment_id),
            CarrierConsent("buyer", "ok"),
        )  # fmt: skip
        assert answer.ok

    def test_bank_net_is_applied_once_for_the_order(self, runtime, merchant):
        token = opened(runtime, merchant)
        first = pay.start_bank_net(runtime.core, token, back_url="https://k.example/back")
        again = pay.start_bank_net(runtime.core, token, back_url="https://k.example/back")
        assert first.request_id == again.request_id
        assert (first.trading_id, first.amount) == ("L1", 1500)
        assert page(runtime.core, token).standing == "open"

    def test_a_carrier_payment_waits_for_the_buyers_approval(self, runtime, merchant):
        token = opened(runtime, merchant)
        assert pay.carriers(page(runtime.core, token)) == ("5", "4", "6")
        view = pay.start_carrier(
            runtime.core,
            token,
            career_type="5",
            back_url="https://k.example/back",
            cancel_url="https://k.example/cancel",
        )
        assert (view.payment_type, view.status, view.trading_id) == ("06", "10", "L1")
        with pytest.raises(InvalidRequest):
            pay.start_carrier(
                runtime.core,
                token,
                career_type="2",
                back_url="https://k.example/b",
                cancel_url="https://k.example/c",
            )
