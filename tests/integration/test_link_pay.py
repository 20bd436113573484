"""Paying on the hosted page, at the core: each method's step makes one payment under the request's
trading_id and amount, a page stays paid once paid, and a double submission never pays twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from kessai.core.link import pay
from kessai.core.link.pay import Buyer, CardEntry
from kessai.core.link.requests import LinkError, open_link, page
from kessai.kit.errors import InProgress, InvalidRequest
from kessai.kit.secrets import CardNumber, SecurityCode
from tests.support.link import link_fields
from tests.support.paid_later import notice_statuses

OK = "4900000000000000"
DECLINED = "4900000000008101"  # auth NG 2002 / 1C01 (§4)
BUYER = Buyer("山田", "太郎", "ヤマダ", "タロウ", "0312345678")


def opened(runtime, merchant, **extra: str) -> str:
    fields = link_fields(merchant, **extra)
    return open_link(runtime.core, fields, charset="utf-8").token


def card(number: str = OK, **kw: str) -> CardEntry:
    return CardEntry(CardNumber(number), "1230", SecurityCode("123"), "TARO YAMADA", **kw)


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
        assert pay.current_payment(runtime.core, token) is None

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
    def test_bank_net_is_applied_once_for_the_order(self, runtime, merchant):
        token = opened(runtime, merchant)
        first = pay.start_bank_net(runtime.core, token, back_url="https://k.example/back")
        again = pay.start_bank_net(runtime.core, token, back_url="https://k.example/back")
        assert first.request_id == again.request_id
        assert (first.trading_id, first.amount) == ("L1", 1500)
        assert page(runtime.core, token).standing == "open"

    def test_a_carrier_payment_waits_for_the_buyers_approval(self, runtime, merchant):
        token = opened(runtime, merchant)
        assert pay.carriers(runtime.core, token) == ("5", "4", "6")
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
