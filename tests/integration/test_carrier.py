"""Carrier billing (携帯キャリア決済, 100–105) end to end against the real server: apply over the module
protocol, the buyer on the sandbox carrier's pages (plain HTML forms), the return to the merchant,
capture, cancel, correction, OpenID, the moves time makes, 094 and the notices
(paygent-protocol.md §1.5 100–105, §3.1)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import make_merchant
from tests.support.carrier import (
    AU_KANTAN,
    CANCEL_URL,
    DOCOMO,
    OTHER_URL,
    RETURN_URL,
    SOFTBANK_B,
    Buyer,
    apply,
    history,
    inquire,
    paid,
    payments,
    query_of,
    run_after,
    telegram,
)
from tests.support.paid_later import notice_statuses, payment_notice_statuses, status
from tests.support.telegrams import authorised, send


class TestApplyAndApprove:
    def test_100_redirect_approve_return_capture_cancel(self, server, merchant, runtime):
        reply = apply(server, merchant, AU_KANTAN, trading_id="ORDER1")
        assert reply.result == "0", reply.fields
        assert len(reply["trade_generation_date"]) == 14
        assert reply["redirect_url"].startswith(server + "/carrier/pay/")
        assert reply["redirect_html"].strip() == ""
        buyer = Buyer()
        page = buyer.open(reply)
        assert page.status_code == 200 and "auかんたん決済" in page.text and "au ID" in page.text
        assert "<script" not in page.text.lower()
        buyer.log_in()
        assert "お支払い内容の確認" in buyer.page and "1,000円" in buyer.page
        back = buyer.approve()
        assert back.status_code == 303
        location = back.headers["location"]
        assert location.startswith(RETURN_URL + "&")  # the merchant's own query is kept
        returned = query_of(location)
        assert returned["payment_id"] == reply["payment_id"]
        assert returned["trading_id"] == "ORDER1"
        assert returned["career_payment_id"].startswith("AK")
        assert len(returned["accept_date"]) == 14 and returned["payment_class"] == "10"
        pid = reply["payment_id"]
        assert status(server, merchant, pid) == "20"
        capture = telegram(server, merchant, "101", payment_id=pid)
        assert (capture.result, capture["payment_id"], capture["trading_id"]) == (
            "0",
            pid,
            "ORDER1",
        )
        assert status(server, merchant, pid) == "40"
        assert telegram(server, merchant, "102", payment_id=pid).result == "0"
        assert status(server, merchant, pid) == "60"
        assert notice_statuses(runtime, merchant) == ["20", "40", "60"]

    def test_follow_ups_by_trading_id(self, server, merchant):
        paid(server, merchant, trading_id="BYTID")
        assert telegram(server, merchant, "101", trading_id="BYTID").result == "0"
        assert inquire(server, merchant, trading_id="BYTID")["payment_status"] == "40"

    def test_docomo_answers_a_form_that_posts_to_the_carrier_page(self, server, merchant):
        reply = apply(server, merchant, DOCOMO)
        assert reply["redirect_url"] == ""
        form = reply["redirect_html"]
        assert form.startswith("<form") and 'method="post"' in form and 'name="form"' in form
        assert reply.raw.rstrip(b"\r\n").endswith(b"</form>")  # the _html field comes last
        buyer = Buyer()
        assert "dアカウントID" in buyer.open(reply).text
        assert buyer.approve().status_code == 303
        assert status(server, merchant, reply["payment_id"]) == "20"

    def test_094_answers_the_carrier_record(self, server, merchant):
        pid = paid(server, merchant, DOCOMO, item_cd="ITEM9", service_code="SV1")
        record = inquire(server, merchant, payment_id=pid)
        assert (record["payment_type"], record["payment_status"]) == ("06", "20")
        assert (record["career_type"], record["payment_amount"]) == ("5", "1000")
        assert record["career_payment_id"].startswith("DP")
        assert len(record["authorized_date"]) == 14
        assert (record["outline"], record["item_cd"], record["service_code"]) == (
            "テスト商品",
            "ITEM9",
            "SV1",
        )
        assert (record["payment_class"], record["sales_flg"], record["pc_mobile_type"]) == (
            "10",
            "0",
            "0",
        )

    def test_sales_flg_captures_on_approval(self, server, merchant, runtime):
        pid = paid(server, merchant, AU_KANTAN, sales_flg="1")
        assert status(server, merchant, pid) == "40"
        assert telegram(server, merchant, "101", payment_id=pid).result == "0"  # repeat
        assert payment_notice_statuses(runtime, int(pid)) == ["40"]

    def test_application_itself_is_not_notified(self, server, merchant, runtime):
        apply(server, merchant)
        assert notice_statuses(runtime, merchant) == []


class TestBuyerLeaves:
    def test_cancel_returns_to_cancel_url_and_abandons(self, server, merchant, runtime):
        reply = apply(server, merchant, AU_KANTAN, trading_id="CANCEL1")
        buyer = Buyer()
        buyer.open(reply)
        back = buyer.post(step="cancel")
        assert back.status_code == 303
        assert back.headers["location"] == (
            f"{CANCEL_URL}?payment_id={reply['payment_id']}&trading_id=CANCEL1"
        )
        assert status(server, merchant, reply["payment_id"]) == "15"
        assert notice_statuses(runtime, merchant) == ["15"]
        again = buyer.open(reply)  # the page is closed now, with the way back
        assert "受付は終了" in again.text and CANCEL_URL in again.text

    def test_docomo_other_methods_go_to_other_url(self, server, merchant):
        reply = apply(server, merchant, DOCOMO, trading_id="OTHER1")
        buyer = Buyer()
        buyer.open(reply)
        back = buyer.post(step="other")
        assert back.headers["location"] == (
            f"{OTHER_URL}?payment_id={reply['payment_id']}&trading_id=OTHER1"
        )
        assert status(server, merchant, reply["payment_id"]) == "15"

    def test_only_docomo_offers_other_methods(self, server, merchant):
        buyer = Buyer()
        buyer.open(apply(server, merchant, AU_KANTAN))
        assert 'value="other"' not in buyer.page

    def test_carrier_refusal_abandons_and_shows_the_way_back(self, server, merchant, runtime):
        reply = apply(server, merchant, SOFTBANK_B)
        page = Buyer().pay(reply, outcome="ng")
        assert page.status_code == 200 and "承認されませんでした" in page.text
        assert CANCEL_URL in page.text
        assert status(server, merchant, reply["payment_id"]) == "15"
        assert notice_statuses(runtime, merchant) == ["15"]

    def test_consent_window_passes_unanswered(self, server, merchant, runtime, clock):
        reply = apply(server, merchant)
        buyer = Buyer()
        buyer.open(reply)
        buyer.log_in()
        run_after(runtime, clock, timedelta(minutes=59))
        assert status(server, merchant, reply["payment_id"]) == "10"
        clock.advance(timedelta(minutes=2))
        page = buyer.approve()
        assert "受付時間を過ぎています" in page.text
        assert status(server, merchant, reply["payment_id"]) == "15"

    def test_worker_abandons_after_the_window(self, server, merchant, runtime, clock):
        reply = apply(server, merchant)
        run_after(runtime, clock, timedelta(minutes=61))
        assert history(runtime, reply["payment_id"]) == ["10", "15"]

    def test_a_second_approval_answers_the_first(self, server, merchant):
        reply = apply(server, merchant)
        buyer = Buyer()
        first = buyer.pay(reply)
        again = buyer.post(step="approve", login_id="09012345678", test_outcome="ok")
        assert again.status_code == 303 and again.headers["location"] == first.headers["location"]

    def test_approval_needs_a_login(self, server, merchant):
        reply = apply(server, merchant)
        buyer = Buyer()
        buyer.open(reply)
        page = buyer.post(step="approve")
        assert page.status_code == 200 and 'value="login"' in page.text
        assert status(server, merchant, reply["payment_id"]) == "10"

    def test_a_script_approves_with_one_post(self, server, merchant):
        reply = apply(server, merchant, AU_KANTAN)
        buyer = Buyer(url=reply["redirect_url"])
        assert buyer.post(step="approve", login_id="tester").status_code == 303
        assert status(server, merchant, reply["payment_id"]) == "20"

    def test_wrong_token_is_not_found(self, server, merchant):
        reply = apply(server, merchant)
        buyer = Buyer()
        buyer.open(reply)
        url = buyer.url.rsplit("/", 1)[0] + "/" + "0" * 32
        assert buyer.http.get(url).status_code == 404


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"career_type": "3"}, "P010", "career_type"),
        ({"career_type": ""}, "P006", "career_type"),
        ({"amount": "1000000"}, "P009", "amount"),
        ({"amount": "100001"}, "P011", None),
        ({"amount": "0"}, "P014", None),
        ({"amount": "1,000"}, "P008", "amount"),
        ({"return_url": ""}, "P006", "return_url"),
        ({"return_url": "ftp://shop.example/r"}, "P010", "return_url"),
        ({"return_url": "/relative"}, "P010", "return_url"),
        ({"cancel_url": "https://shop.example/ｷｬﾝｾﾙ"}, "P008", "cancel_url"),
        ({"return_url": "https://shop.example/" + "r" * 512}, "P009", "return_url"),
        ({"sales_flg": "2"}, "P010", "sales_flg"),
        ({"pc_mobile_type": "9"}, "P010", "pc_mobile_type"),
        ({"open_id": "AK-unknown"}, "P010", "open_id"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(server, merchant, runtime, fields, code, field):
    reply = apply(server, merchant, **fields)
    assert reply.code == code, reply.fields
    if field:
        assert f'"{field}"' in reply["response_detail"]
    assert reply["payment_id"] == "" and reply["redirect_url"] == ""
    assert payments(runtime, merchant) == 0
    assert notice_statuses(runtime, merchant) == []


def test_missing_return_url_answers_p005(server, merchant, runtime):
    fields = {
        "career_type": "4",
        "amount": 1000,
        "cancel_url": CANCEL_URL,
    }
    reply = telegram(server, merchant, "100", trading_id="NORET", **fields)
    assert reply.code == "P005" and '"return_url"' in reply["response_detail"]
    assert payments(runtime, merchant) == 0


def test_merchant_without_carrier_billing_answers_p007(server, runtime):
    card_only = make_merchant(runtime, methods=["02"])
    assert apply(server, card_only).code == "P007"


def test_carrier_path_is_required(server, merchant):
    reply = send(server, merchant, "100", path="/n/card/request", career_type="4", amount=100)
    assert reply.code == "P004"


def test_telegrams_of_another_method_answer_2004(server, merchant):
    card = authorised(server, merchant)
    assert telegram(server, merchant, "101", payment_id=card).code == "2004"
    carrier = paid(server, merchant)
    assert send(server, merchant, "022", payment_id=carrier).code == "2004"
    assert status(server, merchant, carrier) == "20"
