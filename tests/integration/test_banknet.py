"""Bank net payments (060 ASP and 050) end to end, as a buyer and a merchant meet them: the
telegram, Kessai's bank-selection page at asp_url, the sandbox bank's page (pay, fail, abandon),
the return to the shop, 094, notices, expiry to 15 and the status-simulation tool
(paygent-protocol.md §1.5 060, §3.6, §4). Pages are fetched with httpx against the real server;
redirects are followed by hand so that each hop can be checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from kessai.client import KessaiClient
from kessai.core.merchants.commands import NewMerchant
from kessai.core.notifications.models import Notice
from kessai.core.payments import testtool
from kessai.core.payments.banknet import clearing as banknet_clearing
from kessai.core.payments.banknet import commands as banknet
from kessai.core.payments.banknet.models import BankNetRequest
from kessai.core.payments.models import Payment, PaymentEvent
from kessai.core.payments.testtool import MoveInput
from kessai.kit.clock import JST, add_business_days
from kessai.kit.errors import InvalidRequest, InvalidState
from kessai.worker.scheduler import run_jobs_once
from tests.conftest import make_merchant, test_db_kind
from tests.support.paid_later import (
    notice_statuses,
    payment_notice_statuses,
    race_pay_and_expire,
    ref,
    status,
)
from tests.support.telegrams import send

RETURN_URL = "https://shop.example/banknet/done?order=42"
STOP_URL = "https://shop.example/cart"


def apply(server: str, merchant: NewMerchant, trading_id: str = "BN1", kind: str = "060", **extra):
    fields: dict[str, str | int] = {
        "amount": 12345,
        "claim_kana": "ｵｶｲﾓﾉﾀﾞｲｷﾝ",
        "claim_kanji": "お買い物代金",
        "customer_family_name": "山田",
        "customer_name": "太郎",
        "receipt_name": "テスト商店",
        "merchant_name": "テスト商店",
        "return_url": RETURN_URL,
        "stop_return_url": STOP_URL,
        "free_memo": "ご注文ありがとうございます",
        "copy_right": "(c) Test Shop",
    } | extra
    path = "/n/bank/requestasp" if kind == "060" else "/n/bank/request"
    return send(server, merchant, kind, path=path, trading_id=trading_id, **fields)


def selection_form(asp_url: str) -> dict[str, str]:
    query = parse_qs(urlsplit(asp_url).query)
    return {name: query[name][0] for name in ("tid", "mid", "hv")}


def choose(server: str, asp_url: str, bank_code: str) -> httpx.Response:
    """The buyer presses a bank's button on the selection page."""
    return httpx.post(
        server + "/banking/asp", data=selection_form(asp_url) | {"bank_code": bank_code}
    )


def chosen(server: str, asp_url: str, bank_code: str = "0001") -> tuple[str, str]:
    """(payment_id, bank page URL) of a bank choice that made a payment."""
    response = choose(server, asp_url, bank_code)
    assert response.status_code == 303, response.text
    bank_page = urljoin(server, response.headers["location"])
    return bank_page.rsplit("/", 2)[-2], bank_page


def at_bank(bank_page: str, action: str) -> httpx.Response:
    return httpx.post(bank_page, data={"login_id": "taro", "password": "x", "action": action})


def counts(runtime, merchant: NewMerchant) -> tuple[int, int]:
    """(applications, payments) the merchant has."""
    with runtime.core.sessions() as session:
        requests = session.scalar(
            select(func.count())
            .select_from(BankNetRequest)
            .where(BankNetRequest.merchant_id == merchant.merchant_id)
        )
        payments = session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(Payment.merchant_id == merchant.merchant_id)
        )
    return int(requests or 0), int(payments or 0)


def operations(runtime, payment_id: str) -> list[tuple[str, str, str]]:
    with runtime.core.sessions() as session:
        rows = session.execute(
            select(PaymentEvent.operation, PaymentEvent.from_status, PaymentEvent.to_status)
            .where(PaymentEvent.payment_id == int(payment_id))
            .order_by(PaymentEvent.id)
        )
        return [tuple(row) for row in rows]


def today_jst():
    return datetime.now(UTC).astimezone(JST).date()


class TestApply:
    def test_060_answers_the_selection_page_and_its_deadlines(self, server, merchant):
        reply = apply(server, merchant)
        assert reply.result == "0", reply.fields
        assert reply["trading_id"] == "BN1"
        assert reply["asp_url"].startswith(f"{server}/banking/asp?type=05&tid=BN1&mid=")
        assert "hv=" in reply["asp_url"]
        limit_day = today_jst() + timedelta(days=5)  # asp_payment_term default 0050000
        assert reply["asp_limit_date"][:8] == limit_day.strftime("%Y%m%d")
        assert reply["asp_payment_limit_date"] == add_business_days(limit_day, 2).strftime("%Y%m%d")
        assert (reply["amount"], reply["claim_kana"], reply["claim_kanji"]) == (
            "12345",
            "ｵｶｲﾓﾉﾀﾞｲｷﾝ",
            "お買い物代金",
        )
        assert len(reply["trade_generation_date"]) == 14

    def test_trading_id_is_assigned_when_the_merchant_gives_none(self, server, merchant):
        reply = apply(server, merchant, trading_id="")
        assert reply.result == "0" and reply["trading_id"]
        assert f"tid={reply['trading_id']}" in reply["asp_url"]

    def test_term_starting_1_ends_the_day_at_2359(self, server, merchant):
        reply = apply(server, merchant, asp_payment_term="1020000")
        day = today_jst() + timedelta(days=2)
        assert reply["asp_limit_date"] == day.strftime("%Y%m%d") + "235959"

    def test_term_starting_0_adds_days_hours_and_minutes(self, server, merchant):
        reply = apply(server, merchant, asp_payment_term="0000130")
        limit = datetime.strptime(reply["asp_limit_date"], "%Y%m%d%H%M%S").replace(tzinfo=JST)
        expected = datetime.now(UTC) + timedelta(minutes=90)
        assert abs(limit - expected) < timedelta(minutes=1)

    def test_no_payment_and_no_notice_before_a_bank_is_chosen(self, server, merchant, runtime):
        apply(server, merchant)
        assert send(server, merchant, "094", trading_id="BN1").code == "13001"
        assert notice_statuses(runtime, merchant) == []
        assert counts(runtime, merchant) == (1, 0)

    def test_second_060_for_an_open_trading_id_answers_5010_with_its_fields(
        self, server, merchant, runtime
    ):
        first = apply(server, merchant)
        again = apply(server, merchant, amount=999)
        assert (again.result, again.code) == ("1", "5010")
        assert again["asp_url"] == first["asp_url"]
        assert again["amount"] == "12345"  # the open application's, not the new request's
        assert counts(runtime, merchant) == (1, 0)

    @pytest.mark.parametrize(
        ("fields", "code"),
        [
            ({"amount": ""}, "P006"),
            ({"amount": "0"}, "P014"),
            ({"amount": "3000000000"}, "P011"),
            ({"amount": "123456789012"}, "P009"),
            ({"claim_kana": "おかいもの"}, "P008"),
            ({"claim_kanji": "ｵｶｲﾓﾉ"}, "P008"),
            ({"customer_name_kana": "たろう"}, "P008"),
            ({"asp_payment_term": "00500"}, "P009"),
            ({"asp_payment_term": "2050000"}, "P010"),
            ({"asp_payment_term": "0052400"}, "P010"),
            ({"asp_payment_term": "0000000"}, "P012"),
            ({"return_url": "javascript:alert(1)"}, "P010"),
            ({"stop_return_url": "/cart"}, "P010"),
        ],
    )
    def test_bad_input_is_refused_and_nothing_stored(self, server, merchant, runtime, fields, code):
        assert apply(server, merchant, **fields).code == code
        assert counts(runtime, merchant) == (0, 0)

    def test_missing_claim_kanji_answers_p005(self, server, merchant, runtime):
        reply = send(
            server,
            merchant,
            "060",
            path="/n/bank/requestasp",
            trading_id="BN9",
            amount=100,
            claim_kana="ﾀﾞｲｷﾝ",
        )
        assert reply.code == "P005" and "claim_kanji" in reply["response_detail"]
        assert counts(runtime, merchant) == (0, 0)

    def test_merchant_without_bank_net_answers_p007(self, server, runtime):
        card_only = make_merchant(runtime, methods=["02"])
        assert apply(server, card_only).code == "P007"


class TestBuyerPays:
    def test_selection_page_lists_the_sandbox_banks_by_their_zengin_names(self, server, merchant):
        page = httpx.get(apply(server, merchant)["asp_url"])
        assert page.status_code == 200
        for name in ("みずほ銀行", "三菱UFJ銀行", "りそな銀行", "埼玉りそな銀行", "ゆうちょ銀行"):
            assert name in page.text
        assert "三井住友銀行（ダイレクト）" in page.text
        assert "12,345円" in page.text and "お買い物代金" in page.text
        assert '<form method="post"' in page.text and "<script" not in page.text

    def test_choose_a_bank_pay_there_and_return_to_the_shop(self, server, merchant, runtime):
        reply = apply(server, merchant)
        payment_id, bank_page = chosen(server, reply["asp_url"], "0001")
        assert status(server, merchant, payment_id) == "10"
        page = httpx.get(bank_page)
        assert page.status_code == 200
        assert "みずほ銀行" in page.text and "12,345円" in page.text and "ﾃｽﾄ" not in page.text
        assert 'name="action" value="pay"' in page.text
        paid = at_bank(bank_page, "pay")
        assert paid.status_code == 303
        assert paid.headers["location"] == RETURN_URL  # 全銀 banks return without a result
        # Cleared by the bank's completion notice, without the buyer's return being followed.
        inquiry = send(server, merchant, "094", trading_id="BN1", payment_type="05")
        assert (inquiry["payment_id"], inquiry["payment_status"]) == (payment_id, "40")
        assert (inquiry["bank_code"], inquiry["payment_type"]) == ("0001", "05")
        assert len(inquiry["user_payment_date"]) == 14 and len(inquiry["payment_date"]) == 14
        assert notice_statuses(runtime, merchant) == ["40"]
        assert "既に完了" in httpx.get(bank_page).text

    def test_direct_bank_returns_with_result_payment_id_and_trading_id(self, server, merchant):
        payment_id, bank_page = chosen(server, apply(server, merchant)["asp_url"], "D009")
        location = at_bank(bank_page, "pay").headers["location"]
        parts = urlsplit(location)
        assert location.startswith("https://shop.example/banknet/done?")
        assert parse_qs(parts.query) == {
            "order": ["42"],
            "result": ["0"],
            "payment_id": [payment_id],
            "trading_id": ["BN1"],
        }
        assert status(server, merchant, payment_id) == "40"

    def test_notice_of_the_payment_carries_the_bank_and_when_the_buyer_paid(
        self, server, merchant, runtime
    ):
        payment_id, bank_page = chosen(server, apply(server, merchant)["asp_url"], "0005")
        at_bank(bank_page, "pay")
        with runtime.core.sessions() as session:
            notice = session.scalars(
                select(Notice).where(Notice.payment_id == int(payment_id))
            ).one()
        assert notice.fields["payment_type"] == "05" and notice.fields["bank_code"] == "0005"
        assert len(notice.fields["user_payment_date"]) == 14

    def test_each_click_makes_a_new_payment_until_5011(self, server, merchant, runtime):
        asp_url = apply(server, merchant)["asp_url"]
        payment_ids = [chosen(server, asp_url, "0010")[0] for _ in range(banknet.MAX_SELECTIONS)]
        assert len(set(payment_ids)) == banknet.MAX_SELECTIONS
        refused = choose(server, asp_url, "0010")
        assert refused.status_code == 200 and "選択回数が上限" in refused.text
        assert counts(runtime, merchant) == (1, banknet.MAX_SELECTIONS)
        # 094 by trading_id alone answers the newest payment of the application.
        assert send(server, merchant, "094", trading_id="BN1")["payment_id"] == payment_ids[-1]

    def test_once_one_bank_is_paid_the_others_answer_5008(self, server, merchant, runtime):
        asp_url = apply(server, merchant)["asp_url"]
        first, first_page = chosen(server, asp_url, "0001")
        second, second_page = chosen(server, asp_url, "0005")
        at_bank(second_page, "pay")
        assert "既に完了" in at_bank(first_page, "pay").text
        assert status(server, merchant, first) == "10"
        assert "既に完了" in httpx.get(asp_url).text
        assert "既に完了" in choose(server, asp_url, "0001").text
        assert apply(server, merchant).code == "5008"
        assert send(server, merchant, "094", trading_id="BN1")["payment_id"] == second


class TestBuyerDoesNotPay:
    def test_refused_at_the_bank_stays_open_and_may_be_tried_again(self, server, merchant, runtime):
        asp_url = apply(server, merchant)["asp_url"]
        payment_id, bank_page = chosen(server, asp_url, "0017")
        failed = at_bank(bank_page, "fail")
        assert failed.status_code == 200 and "お支払いできませんでした" in failed.text
        assert "別の銀行を選ぶ" in failed.text and STOP_URL in failed.text
        assert status(server, merchant, payment_id) == "10"
        assert ("refuse", "10", "10") in operations(runtime, payment_id)
        assert notice_statuses(runtime, merchant) == []
        assert at_bank(bank_page, "pay").status_code == 303  # more money in the account now
        assert status(server, merchant, payment_id) == "40"

    def test_refused_at_a_direct_bank_returns_result_1(self, server, merchant):
        payment_id, bank_page = chosen(server, apply(server, merchant)["asp_url"], "D036")
        location = at_bank(bank_page, "fail").headers["location"]
        assert parse_qs(urlsplit(location).query)["result"] == ["1"]
        assert status(server, merchant, payment_id) == "10"

    def test_abandon_goes_back_to_stop_return_url_and_changes_nothing(
        self, server, merchant, runtime
    ):
        payment_id, bank_page = chosen(server, apply(server, merchant)["asp_url"], "9900")
        left = at_bank(bank_page, "abandon")
        assert (left.status_code, left.headers["location"]) == (303, STOP_URL)
        assert status(server, merchant, payment_id) == "10"
        assert operations(runtime, payment_id)[-1] == ("abandon", "10", "10")

    def test_unpaid_payment_closes_as_15_after_two_bank_business_days(
        self, server, merchant, runtime, clock
    ):
        payment_id, bank_page = chosen(server, apply(server, merchant)["asp_url"])
        due = add_business_days(today_jst(), 2).strftime("%Y%m%d")
        assert send(server, merchant, "094", payment_id=payment_id)["payment_limit_date"] == due
        clock.advance(timedelta(hours=1))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, payment_id) == "10"
        clock.advance(timedelta(days=10))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, payment_id) == "15"
        assert notice_statuses(runtime, merchant) == ["15"]
        assert "有効期限" in at_bank(bank_page, "pay").text
        assert status(server, merchant, payment_id) == "15"

    def test_merchants_test_clock_closes_unpaid_payments_and_the_pages(
        self, server, merchant, runtime
    ):
        asp_url = apply(server, merchant)["asp_url"]
        payment_id, bank_page = chosen(server, asp_url)
        moved = testtool.advance_clock(runtime.core, merchant.merchant_id, timedelta(days=10))
        assert moved.expired == 1
        assert status(server, merchant, payment_id) == "15"
        assert "有効期限" in httpx.get(bank_page).text
        assert "有効期限" in httpx.get(asp_url).text  # asp_limit_date (5 days) passed too

    def test_selection_page_closes_at_asp_limit_date_with_5009(self, server, merchant, clock):
        asp_url = apply(server, merchant, asp_payment_term="0000030")["asp_url"]
        clock.advance(timedelta(hours=1))
        assert "有効期限" in httpx.get(asp_url).text
        assert "有効期限" in choose(server, asp_url, "0001").text
        assert apply(server, merchant).code == "5009"

    def test_guessed_urls_are_not_found(self, server, merchant):
        asp_url = apply(server, merchant)["asp_url"]
        assert httpx.get(asp_url.replace("hv=", "hv=0")).status_code == 404
        assert httpx.get(asp_url.replace("tid=BN1", "tid=BN2")).status_code == 404
        payment_id, bank_page = chosen(server, asp_url)
        assert httpx.get(bank_page[:-4] + "0000").status_code == 404
        other = bank_page.replace(f"/{payment_id}/", f"/{int(payment_id) + 1}/")
        assert httpx.get(other).status_code == 404

    def test_unknown_bank_answers_p010_and_makes_no_payment(self, server, merchant, runtime):
        page = choose(server, apply(server, merchant)["asp_url"], "0009")
        assert page.status_code == 200 and "bank_code" in page.text
        assert counts(runtime, merchant) == (1, 0)


class TestDirect050:
    def test_050_makes_the_payment_at_once_and_sends_the_buyer_to_the_bank(
        self, server, merchant, runtime
    ):
        reply = apply(server, merchant, "DIRECT1", kind="050", bank_code="D033")
        assert reply.result == "0", reply.fields
        assert reply["bank_code"] == "D033" and reply["payment_id"]
        assert f"/banknet/bank/{reply['payment_id']}/" in reply["asp_url"]
        assert "PayPay銀行" in httpx.get(reply["asp_url"]).text
        location = at_bank(reply["asp_url"], "pay").headers["location"]
        assert parse_qs(urlsplit(location).query)["result"] == ["0"]
        assert status(server, merchant, reply["payment_id"]) == "40"

    def test_050_needs_a_sandbox_bank(self, server, merchant, runtime):
        assert apply(server, merchant, kind="050").code == "P005"
        assert apply(server, merchant, kind="050", bank_code="0009").code == "P010"
        assert counts(runtime, merchant) == (0, 0)


class TestSandboxTool:
    def test_tool_pays_a_chosen_bank(self, server, merchant, runtime):
        payment_id, _ = chosen(server, apply(server, merchant)["asp_url"], "0010")
        inp = MoveInput(bank_code="0010")
        view = testtool.pay(runtime.core, ref(merchant), int(payment_id), inp)
        assert view.status == "40"
        assert notice_statuses(runtime, merchant) == ["40"]

    def test_tool_refuses_another_bank_code_and_direct_banks(self, server, merchant, runtime):
        asp_url = apply(server, merchant)["asp_url"]
        payment_id, _ = chosen(server, asp_url, "0010")
        with pytest.raises(InvalidRequest):
            testtool.pay(runtime.core, ref(merchant), int(payment_id), MoveInput(bank_code="0001"))
        direct, _ = chosen(server, asp_url, "D038")
        with pytest.raises(InvalidState) as refused:
            testtool.pay(runtime.core, ref(merchant), int(direct), MoveInput())
        assert refused.value.code == "S002"
        assert status(server, merchant, payment_id) == "10"

    def test_tool_closes_then_pays_late(self, server, merchant, runtime):
        payment_id, _ = chosen(server, apply(server, merchant)["asp_url"])
        pid = int(payment_id)
        assert testtool.move(runtime.core, ref(merchant), pid, "15", MoveInput()).status == "15"
        assert testtool.move(runtime.core, ref(merchant), pid, "40", MoveInput()).status == "40"
        assert payment_notice_statuses(runtime, pid) == ["15", "40"]
        assert [op for op, _, _ in operations(runtime, payment_id)][-2:] == ["expire", "pay_late"]

    def test_sandbox_cli_pays_with_the_bank_code(self, server, merchant, runtime):
        payment_id, _ = chosen(server, apply(server, merchant)["asp_url"], "0017")
        env = {
            **os.environ,
            "KESSAI_HOME": str(runtime.settings.home),
            "KESSAI_DATABASE_URL": runtime.settings.resolved_database_url(),
        }
        result = subprocess.run(
            [sys.executable, "-m", "kessai", "sandbox", "pay", payment_id, "--bank-code", "0017"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert json.loads(result.stdout)["payment_status"] == "40"

    @pytest.mark.skipif(test_db_kind() != "postgresql", reason="real concurrency on PostgreSQL")
    def test_concurrent_pay_and_expire_one_wins(self, server, runtime, clock):
        shop = make_merchant(runtime)
        pids = [
            int(chosen(server, apply(server, shop, f"RACE{i}")["asp_url"])[0]) for i in range(10)
        ]
        paid_at = clock.now()
        clock.advance(timedelta(days=10))
        race_pay_and_expire(
            pids,
            lambda pid, at: banknet_clearing.pay(runtime.core, ref(shop), pid, paid_at=at),
            lambda: banknet_clearing.expire_due(runtime.core),
            paid_at,
        )
        for pid in pids:
            final = status(server, shop, str(pid))
            assert final in ("40", "15")
            assert payment_notice_statuses(runtime, pid) == [final]


def test_sdk_applies_and_the_buyer_pays(server, merchant):
    with KessaiClient(
        server,
        merchant_id=merchant.merchant_id,
        connect_id=merchant.connect_id,
        connect_password=merchant.connect_password,
    ) as paygent:
        applied = paygent.apply_bank_net(
            trading_id="SDKBN1",
            amount=5000,
            claim_kana="ﾀﾞｲｷﾝ",
            claim_kanji="代金",
            return_url=RETURN_URL,
        )
        assert applied.ok, applied.response_code
        assert applied.amount == 5000 and applied.asp_url and applied.asp_limit_date
        _, bank_page = chosen(server, applied.asp_url, "0005")
        assert at_bank(bank_page, "pay").headers["location"] == RETURN_URL
        inquiry = paygent.inquire(trading_id="SDKBN1", payment_type="05")
        assert inquiry.payment_status == "40" and inquiry.payment_type == "05"
        direct = paygent.apply_bank_net(
            trading_id="SDKBN2", amount=700, claim_kana="ﾀﾞｲｷﾝ", claim_kanji="代金", bank_code="D039"
        )
        assert direct.ok and direct.kind == "050" and direct.payment_id
