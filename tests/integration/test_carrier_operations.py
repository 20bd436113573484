"""Carrier billing after approval, against the real server: 101/102/103 as each carrier type's
status set allows (2004 otherwise, result 0 for repeats), the moves time makes (completion reports,
authorisation expiry, the cancel window), OpenID (104/105), the SDK, a lost carrier answer settled by
the reconciler, and approval racing the consent window on PostgreSQL (§1.5 100–105, §3.1)."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from datetime import timedelta

import pytest

from kessai.app import Runtime
from kessai.client import KessaiClient
from kessai.connectors.base import CarrierConsent, ConnectorResult, Outcome
from kessai.connectors.sandbox.carrier import SandboxCarrier
from kessai.core.merchants.commands import NewMerchant
from kessai.core.payments import later
from kessai.core.payments.carrier import commands as carrier
from kessai.core.payments.refs import PaymentRef
from kessai.kit.errors import KessaiError
from tests.conftest import make_merchant, test_db_kind
from tests.support.carrier import (
    AU_KANTAN,
    AU_MATOMETE,
    CANCEL_URL,
    DOCOMO,
    RETURN_URL,
    SHOP,
    SOFTBANK_A,
    SOFTBANK_B,
    Buyer,
    apply,
    history,
    inquire,
    paid,
    query_of,
    run_after,
    telegram,
)
from tests.support.paid_later import notice_statuses, payment_notice_statuses, ref, status

REPORT = timedelta(minutes=6)  # past the sandbox carriers' 5-minute completion report


def code(server: str, merchant: NewMerchant, kind: str, pid: str, **fields: str | int) -> str:
    reply = telegram(server, merchant, kind, payment_id=pid, **fields)
    return reply.code if reply.result == "1" else "0"


class TestEachCarriersStatusSet:
    def test_au_matomete_captures_are_final(self, server, merchant):
        pid = paid(server, merchant, AU_MATOMETE)
        assert code(server, merchant, "101", pid) == "0"
        assert code(server, merchant, "102", pid) == "2004"  # no 60 in its set
        assert code(server, merchant, "103", pid, amount=500) == "2004"
        assert status(server, merchant, pid) == "40"

    def test_au_matomete_voids_an_authorisation(self, server, merchant):
        pid = paid(server, merchant, AU_MATOMETE)
        assert code(server, merchant, "102", pid) == "0"
        assert status(server, merchant, pid) == "32"
        assert code(server, merchant, "102", pid) == "0"  # repeat
        assert code(server, merchant, "101", pid) == "2004"

    def test_softbank_a_captures_on_approval_and_cannot_be_cancelled(self, server, merchant):
        pid = paid(server, merchant, SOFTBANK_A)
        assert status(server, merchant, pid) == "40"
        assert code(server, merchant, "101", pid) == "0"  # already captured
        assert code(server, merchant, "102", pid) == "2004"
        assert code(server, merchant, "103", pid, amount=500) == "2004"

    def test_softbank_b_reports_authorisation_then_voids_to_32(
        self, server, merchant, runtime, clock
    ):
        pid = paid(server, merchant, SOFTBANK_B)
        run_after(runtime, clock, REPORT)
        assert status(server, merchant, pid) == "21"
        assert code(server, merchant, "102", pid) == "0"
        assert history(runtime, pid) == ["10", "20", "21", "32"]
        assert payment_notice_statuses(runtime, int(pid)) == ["20", "21", "32"]

    def test_softbank_b_cancels_a_capture_to_60(self, server, merchant, runtime):
        pid = paid(server, merchant, SOFTBANK_B)
        assert code(server, merchant, "101", pid) == "0"
        assert code(server, merchant, "102", pid) == "0"
        assert history(runtime, pid) == ["10", "20", "40", "60"]

    def test_docomo_reports_each_step_and_has_no_32(self, server, merchant, runtime, clock):
        pid = paid(server, merchant, DOCOMO)
        run_after(runtime, clock, REPORT)
        assert status(server, merchant, pid) == "21"
        assert code(server, merchant, "101", pid) == "0"
        run_after(runtime, clock, REPORT)
        assert status(server, merchant, pid) == "44"
        assert code(server, merchant, "101", pid) == "0"  # repeat on 消込完了
        assert code(server, merchant, "102", pid) == "0"
        run_after(runtime, clock, REPORT)
        assert history(runtime, pid) == ["10", "20", "21", "40", "44", "60", "62"]
        assert code(server, merchant, "102", pid) == "0"  # repeat on 取消完了

    def test_docomo_cancels_an_authorisation_to_60(self, server, merchant, runtime):
        pid = paid(server, merchant, DOCOMO)
        assert code(server, merchant, "102", pid) == "0"
        assert status(server, merchant, pid) == "60"

    def test_nothing_before_approval(self, server, merchant):
        pid = apply(server, merchant)["payment_id"]
        for kind in ("101", "102"):
            assert code(server, merchant, kind, pid) == "2004"
        assert code(server, merchant, "103", pid, amount=100) == "2004"

    def test_nothing_after_abandonment(self, server, merchant):
        reply = apply(server, merchant)
        buyer = Buyer()
        buyer.open(reply)
        buyer.post(step="cancel")
        assert code(server, merchant, "101", reply["payment_id"]) == "2004"

    def test_capture_twice_answers_success_and_changes_nothing(self, server, merchant, runtime):
        pid = paid(server, merchant)
        assert [code(server, merchant, "101", pid) for _ in range(2)] == ["0", "0"]
        assert history(runtime, pid) == ["10", "20", "40"]


class TestTime:
    def test_authorisation_expires_after_60_days(self, server, merchant, runtime, clock):
        pid = paid(server, merchant, AU_KANTAN)
        run_after(runtime, clock, timedelta(days=59))
        assert status(server, merchant, pid) == "20"
        run_after(runtime, clock, timedelta(days=2))
        assert status(server, merchant, pid) == "33"
        assert code(server, merchant, "101", pid) == "2007"
        assert code(server, merchant, "102", pid) == "0"  # nothing left to cancel
        assert history(runtime, pid) == ["10", "20", "33"]

    def test_a_telegram_sees_the_expiry_without_the_worker(self, server, merchant, clock):
        pid = paid(server, merchant, AU_KANTAN)
        clock.advance(timedelta(days=61))
        assert code(server, merchant, "101", pid) == "2007"
        assert status(server, merchant, pid) == "33"

    def test_capture_closes_for_cancel_after_60_days(self, server, merchant, runtime, clock):
        pid = paid(server, merchant, AU_KANTAN, sales_flg="1")
        run_after(runtime, clock, timedelta(days=61))
        assert status(server, merchant, pid) == "41"
        assert code(server, merchant, "102", pid) == "2007"
        assert code(server, merchant, "101", pid) == "0"

    def test_docomo_reports_before_it_expires(self, server, merchant, runtime, clock):
        pid = paid(server, merchant, DOCOMO)
        run_after(runtime, clock, timedelta(days=61))
        assert history(runtime, pid) == ["10", "20", "21", "33"]

    def test_sandbox_test_clock_moves_carrier_payments(self, server, runtime):
        from kessai.core.payments import testtool

        shop = make_merchant(runtime)
        pid = paid(server, shop, DOCOMO)
        view = testtool.advance_clock(runtime.core, shop.merchant_id, timedelta(minutes=10))
        assert view.expired == 1
        assert status(server, shop, pid) == "21"

    def test_tool_does_not_move_carrier_payments(self, runtime, server, merchant):
        from kessai.core.payments import testtool

        pid = int(paid(server, merchant))
        with pytest.raises(KessaiError) as refused:
            testtool.pay(runtime.core, ref(merchant), pid, testtool.MoveInput())
        assert refused.value.code == "S002" and "carrier's page" in refused.value.message


class TestCorrection:
    def test_103_on_an_authorisation_captures_the_lower_amount(self, server, merchant, runtime):
        base = paid(server, merchant, AU_KANTAN, trading_id="COR1")
        reply = telegram(server, merchant, "103", payment_id=base, amount=700)
        assert reply.result == "0", reply.fields
        new = reply["payment_id"]
        assert new != base and reply["base_payment_id"] == base
        assert reply["trading_id"] == "COR1"
        assert status(server, merchant, base) == "32"
        record = inquire(server, merchant, payment_id=new)
        assert (record["payment_status"], record["payment_amount"]) == ("40", "700")
        assert record["career_payment_id"].startswith("AK")
        # As 028/029: the new payment first, then the old one cancelled.
        assert notice_statuses(runtime, merchant) == ["20", "40", "32"]

    def test_103_on_a_capture_cancels_it(self, server, merchant):
        base = paid(server, merchant, SOFTBANK_B, sales_flg="1")
        reply = telegram(server, merchant, "103", payment_id=base, amount=1)
        assert reply.result == "0", reply.fields
        assert status(server, merchant, base) == "60"
        assert status(server, merchant, reply["payment_id"]) == "40"

    def test_103_cannot_raise_the_amount(self, server, merchant, runtime):
        base = paid(server, merchant)
        assert code(server, merchant, "103", base, amount=1001) == "2013"
        assert status(server, merchant, base) == "20"
        assert history(runtime, base) == ["10", "20"]

    def test_103_needs_an_amount(self, server, merchant):
        base = paid(server, merchant)
        assert code(server, merchant, "103", base) == "P005"


class TestOpenId:
    def authenticate(self, server: str, merchant: NewMerchant, career_type: str = AU_KANTAN):
        reply = telegram(
            server,
            merchant,
            "104",
            career_type=career_type,
            redirect_url=f"{SHOP}/openid/done",
            cancel_url=f"{SHOP}/openid/cancel",
        )
        assert reply.result == "0", reply.fields
        buyer = Buyer()
        page = buyer.open(reply)
        assert page.status_code == 200 and "ログイン" in page.text
        back = buyer.log_in("au-user-1")
        assert back.status_code == 303
        assert back.headers["location"].startswith(f"{SHOP}/openid/done?open_id=")
        return query_of(back.headers["location"])["open_id"]

    def test_104_gives_an_open_id_that_skips_the_carrier_login(self, server, merchant):
        open_id = self.authenticate(server, merchant)
        reply = apply(server, merchant, AU_KANTAN, open_id=open_id)
        assert reply.result == "0", reply.fields
        buyer = Buyer()
        page = buyer.open(reply)
        assert 'value="login"' not in page.text and "ご登録済みのアカウント" in page.text
        assert buyer.approve().status_code == 303
        assert status(server, merchant, reply["payment_id"]) == "20"

    def test_docomo_104_answers_a_form(self, server, merchant):
        reply = telegram(
            server,
            merchant,
            "104",
            career_type=DOCOMO,
            redirect_url=f"{SHOP}/openid/done",
            cancel_url=f"{SHOP}/openid/cancel",
        )
        assert reply["redirect_url"] == "" and reply["redirect_html"].startswith("<form")

    def test_105_releases_and_the_open_id_is_refused_after(self, server, merchant):
        open_id = self.authenticate(server, merchant)
        released = telegram(server, merchant, "105", open_id=open_id, career_type=AU_KANTAN)
        assert released.result == "0" and released["open_id"] == open_id
        assert telegram(server, merchant, "105", open_id=open_id).result == "0"  # repeat
        assert apply(server, merchant, AU_KANTAN, open_id=open_id).code == "P010"

    def test_open_id_is_per_carrier_and_per_merchant(self, server, merchant, runtime):
        open_id = self.authenticate(server, merchant)
        assert apply(server, merchant, DOCOMO, open_id=open_id).code == "P010"
        other = make_merchant(runtime)
        assert apply(server, other, AU_KANTAN, open_id=open_id).code == "P010"
        assert telegram(server, other, "105", open_id=open_id).code == "P010"

    def test_carriers_without_user_authentication_answer_p010(self, server, merchant):
        reply = telegram(
            server,
            merchant,
            "104",
            career_type=SOFTBANK_B,
            redirect_url=f"{SHOP}/openid/done",
            cancel_url=f"{SHOP}/openid/cancel",
        )
        assert reply.code == "P010"

    def test_going_back_returns_to_cancel_url(self, server, merchant):
        reply = telegram(
            server,
            merchant,
            "104",
            career_type=AU_KANTAN,
            redirect_url=f"{SHOP}/openid/done",
            cancel_url=f"{SHOP}/openid/cancel",
        )
        buyer = Buyer()
        buyer.open(reply)
        back = buyer.post(step="cancel")
        assert back.headers["location"] == f"{SHOP}/openid/cancel"


class TestSdk:
    def test_typed_calls_for_100_to_105(self, server, merchant):
        with KessaiClient(
            server,
            merchant_id=merchant.merchant_id,
            connect_id=merchant.connect_id,
            connect_password=merchant.connect_password,
        ) as paygent:
            app = paygent.apply_carrier(
                trading_id="SDKC1",
                career_type=DOCOMO,
                amount=2500,
                return_url=RETURN_URL,
                cancel_url=CANCEL_URL,
                outline="SDKの商品",
            )
            assert app.ok, app.response_code
            assert app.redirect_html and app.redirect_url is None
            assert app.trade_generation_date and len(app.trade_generation_date) == 14
            page = Buyer()
            page.open(app_reply(app))
            assert page.approve().status_code == 303
            assert paygent.capture_carrier(payment_id=app.payment_id).ok
            reduced = paygent.correct_carrier(payment_id=app.payment_id, amount=2000)
            assert reduced.ok and reduced.base_payment_id == app.payment_id
            assert paygent.cancel_carrier(payment_id=reduced.payment_id).ok
            assert paygent.inquire(payment_id=reduced.payment_id).payment_status == "60"
            refused = paygent.capture_carrier(payment_id=reduced.payment_id)
            assert (refused.ok, refused.response_code) == (False, "2004")
            auth = paygent.authenticate_carrier_user(
                career_type=AU_KANTAN,
                redirect_url=f"{SHOP}/openid/done",
                cancel_url=f"{SHOP}/openid/cancel",
            )
            assert auth.ok and auth.redirect_url
            unknown = paygent.release_open_id(open_id="AK-nobody")
            assert (unknown.ok, unknown.response_code) == (False, "P010")


def app_reply(result):  # type: ignore[no-untyped-def]
    """An SDK result in the shape `Buyer.open` reads."""
    from tests.support.telegrams import Reply

    fields = {
        "redirect_url": result.redirect_url or "",
        "redirect_html": result.redirect_html or "",
    }
    return Reply(b"", fields)


class LosingCarrier(SandboxCarrier):
    """Captures reach the carrier but the answer is lost: UNKNOWN, then `lookup` tells."""

    def capture(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        super().capture(idempotency_key=idempotency_key, reference=reference, amount=amount)
        return ConnectorResult(outcome=Outcome.UNKNOWN)


class TestLostAnswers:
    def test_docomo_capture_shows_30_until_the_reconciler_asks(self, runtime, server, clock):
        shop = make_merchant(runtime)
        losing = LosingCarrier()
        core = dataclasses.replace(runtime.core, carrier_for=lambda _m: losing)
        view = carrier.apply(core, ref(shop), _request(DOCOMO))
        token = carrier.consent_token(core.secret, view.payment_id)
        assert carrier.approve(core, view.payment_id, token, CarrierConsent("d-user")).ok
        answer = carrier.capture(core, ref(shop), PaymentRef(payment_id=str(view.payment_id)))
        assert (answer.ok, answer.response_code) == (False, "2008")
        assert answer.payment is not None and answer.payment.status == "30"
        assert carrier.reconcile_all(core, {shop.merchant_id: ref(shop)}) == 0  # not due yet
        clock.advance(timedelta(minutes=6))  # the back-off's first step
        assert carrier.reconcile_all(core, {shop.merchant_id: ref(shop)}) == 1
        assert carrier.refresh(core, ref(shop), view.payment_id).status == "40"
        clock.advance(timedelta(minutes=6))  # docomo's completion report
        assert carrier.refresh(core, ref(shop), view.payment_id).status == "44"
        assert history(runtime, str(view.payment_id)) == ["10", "20", "30", "40", "44"]
        assert payment_notice_statuses(runtime, view.payment_id) == ["20", "40", "44"]


def _request(career_type: str, trading_id: str = "CORE1") -> carrier.CarrierRequest:
    return carrier.CarrierRequest(
        career_type=career_type,
        amount=1000,
        return_url=RETURN_URL,
        cancel_url=CANCEL_URL,
        trading_id=trading_id,
    )


@pytest.mark.skipif(test_db_kind() != "postgresql", reason="real concurrency on PostgreSQL")
def test_approval_racing_the_consent_window_one_wins(runtime: Runtime, clock):
    """Buyers approve while the clock passes their consent window and the worker runs: each
    payment ends approved (20) or abandoned (15), never both, with its notices in step."""
    shop = make_merchant(runtime)
    core = runtime.core
    views = [carrier.apply(core, ref(shop), _request(AU_KANTAN, f"RACE{i}")) for i in range(10)]
    tokens = {v.payment_id: carrier.consent_token(core.secret, v.payment_id) for v in views}
    clock.advance(timedelta(minutes=59, seconds=59))

    halfway = threading.Event()

    def approve_all() -> None:
        for number, (pid, token) in enumerate(tokens.items()):
            if number == len(tokens) // 2:
                halfway.set()
            with contextlib.suppress(KessaiError):  # abandoned first
                carrier.approve(core, pid, token, CarrierConsent("racer"))

    def expire() -> None:
        halfway.wait(timeout=30)
        clock.advance(timedelta(seconds=2))  # the window closes while approvals go on
        for _ in range(20):
            later.expire_due(core)

    threads = [threading.Thread(target=approve_all), threading.Thread(target=expire)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for pid in tokens:
        final = carrier.refresh(core, ref(shop), pid).status
        assert final in ("20", "15")
        assert payment_notice_statuses(runtime, pid) == [final]
        assert history(runtime, str(pid))[-1] == final
