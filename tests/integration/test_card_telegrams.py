"""Card telegrams 020–029 and 094 through the real server over HTTP, in Windows-31J."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from kessai.app import Runtime
from kessai.core.merchants.commands import NewMerchant
from kessai.core.notifications.models import Notice
from kessai.core.payments.models import Payment, PaymentEvent
from tests.support.telegrams import authorise, send

VOID_FAILS_CARD = "4900000000002115"  # auth OK, void/cancel → 2002 1C15 (§4 X=2 Y=1)


def status_of(runtime: Runtime, payment_id: str) -> str:
    with runtime.core.sessions() as session:
        payment = session.get(Payment, int(payment_id))
        assert payment is not None
        return payment.status


def notices(runtime: Runtime, merchant: NewMerchant) -> list[tuple[int, str, int]]:
    with runtime.core.sessions() as session:
        rows = session.execute(
            select(Notice.payment_notice_id, Notice.payment_status, Notice.payment_id)
            .where(Notice.merchant_id == merchant.merchant_id)
            .order_by(Notice.payment_notice_id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


class TestAuthorise:
    def test_authorisation_answers_payment_and_card_fields(self, server, merchant, runtime):
        reply = authorise(server, merchant)
        assert reply.result == "0", reply.fields
        assert reply["payment_id"].isdigit()
        assert reply["trading_id"] == "T1"
        assert reply["masked_card_number"] == "************0000"
        assert reply["acq_id"] and reply["acq_name"]
        assert reply["card_valid_term"] == "1230"
        assert status_of(runtime, reply["payment_id"]) == "20"
        assert reply.raw.startswith(b"\r\nresult=0\r\n")

    def test_authorisation_writes_one_notice_numbered_from_one(self, server, merchant, runtime):
        reply = authorise(server, merchant)
        assert notices(runtime, merchant) == [(1, "20", int(reply["payment_id"]))]

    def test_sales_mode_one_authorises_and_captures(self, server, merchant, runtime):
        reply = authorise(server, merchant, sales_mode="1")
        assert reply.result == "0"
        assert status_of(runtime, reply["payment_id"]) == "40"

    def test_declined_card_answers_2002_with_vendor_detail(self, server, merchant, runtime):
        reply = authorise(server, merchant, card="4900000000008101")
        assert (reply.result, reply.code, reply["response_detail"]) == ("1", "2002", "1C01")
        assert reply["payment_id"] == ""

    def test_issuer_refusal_answers_2001(self, server, merchant):
        reply = authorise(server, merchant, card="4900000000008212")
        assert (reply.code, reply["response_detail"]) == ("2001", "1G12")

    def test_timeout_card_answers_2008(self, server, merchant):
        assert authorise(server, merchant, card="4900000000009000").code == "2008"

    def test_amount_over_seven_digits_answers_p009_and_stores_nothing(
        self, server, merchant, runtime
    ):
        reply = authorise(server, merchant, amount=10_000_000)
        assert (reply.result, reply.code) == ("1", "P009")
        assert _payment_count(runtime, merchant) == 0

    def test_zero_amount_answers_p014(self, server, merchant, runtime):
        assert authorise(server, merchant, amount=0).code == "P014"
        assert _payment_count(runtime, merchant) == 0


class TestCapture:
    def test_capture_moves_20_to_40_and_notifies(self, server, merchant, runtime):
        pid = authorise(server, merchant)["payment_id"]
        reply = send(server, merchant, "022", payment_id=pid)
        assert reply.result == "0", reply.fields
        assert reply["payment_id"] == pid
        assert status_of(runtime, pid) == "40"
        assert [n[1] for n in notices(runtime, merchant)] == ["20", "40"]

    def test_second_capture_answers_success_and_changes_nothing(self, server, merchant, runtime):
        pid = authorise(server, merchant)["payment_id"]
        send(server, merchant, "022", payment_id=pid)
        before = _event_count(runtime, pid)
        reply = send(server, merchant, "022", payment_id=pid)
        assert reply.result == "0"
        assert _event_count(runtime, pid) == before
        assert len(notices(runtime, merchant)) == 2

    def test_capture_by_trading_id(self, server, merchant, runtime):
        pid = authorise(server, merchant, trading_id="ORDER42")["payment_id"]
        assert send(server, merchant, "022", trading_id="ORDER42").result == "0"
        assert status_of(runtime, pid) == "40"

    def test_shared_trading_id_answers_2005(self, server, merchant):
        authorise(server, merchant, trading_id="DUP")
        authorise(server, merchant, trading_id="DUP")
        assert send(server, merchant, "022", trading_id="DUP").code == "2005"

    def test_payment_of_another_merchant_is_not_found(self, server, merchant, runtime):
        from tests.conftest import make_merchant

        pid = authorise(server, merchant)["payment_id"]
        other = make_merchant(runtime)
        assert send(server, other, "022", payment_id=pid).code == "2006"
        assert status_of(runtime, pid) == "20"

    def test_capture_after_sixty_days_answers_2007_and_expires(
        self, server, merchant, runtime, clock
    ):
        pid = authorise(server, merchant)["payment_id"]
        clock.advance(timedelta(days=60, seconds=1))
        assert send(server, merchant, "022", payment_id=pid).code == "2007"
        assert status_of(runtime, pid) == "33"
        assert send(server, merchant, "021", payment_id=pid).result == "0"

    def test_racing_captures_make_one_capture(self, server, merchant, runtime):
        pid = authorise(server, merchant)["payment_id"]
        replies = []

        def capture() -> None:
            replies.append(send(server, merchant, "022", payment_id=pid))

        threads = [threading.Thread(target=capture) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.result for r in replies) == ["0"] * 6, [r.fields for r in replies]
        with runtime.core.sessions() as session:
            captures = session.scalar(
                select(func.count()).where(
                    PaymentEvent.payment_id == int(pid), PaymentEvent.to_status == "40"
                )
            )
        assert captures == 1


class TestVoidAndCancel:
    def test_void_moves_20_to_32(self, server, merchant, runtime):
        pid = authorise(server, merchant)["payment_id"]
        assert send(server, merchant, "021", payment_id=pid).result == "0"
        assert status_of(runtime, pid) == "32"
        assert send(server, merchant, "021", payment_id=pid).result == "0"

    def test_capture_after_void_answers_2004_and_changes_nothing(self, server, merchant, runtime):
        pid = authorise(server, merchant)["payment_id"]
        send(server, merchant, "021", payment_id=pid)
        before = _event_count(runtime, pid)
        assert send(server, merchant, "022", payment_id=pid).code == "2004"
        assert status_of(runtime, pid) == "32"
        assert _event_count(runtime, pid) == before

    def test_cancel_capture_moves_40_to_60(self, server, merchant, runtime):
        pid = authorise(server, merchant, sales_mode="1")["payment_id"]
        assert send(server, merchant, "023", payment_id=pid).result == "0"
        assert status_of(runtime, pid) == "60"

    def test_cancel_after_window_answers_2007(self, server, merchant, runtime, clock):
        pid = authorise(server, merchant, sales_mode="1")["payment_id"]
        clock.advance(timedelta(days=61))
        assert send(server, merchant, "023", payment_id=pid).code == "2007"
        assert status_of(runtime, pid) == "41"

    def test_void_refused_by_acquirer_keeps_authorisation(self, server, merchant, runtime):
        pid = authorise(server, merchant, card=VOID_FAILS_CARD)["payment_id"]
        reply = send(server, merchant, "021", payment_id=pid)
        assert (reply.code, reply["response_detail"]) == ("2002", "1C15")
        assert status_of(runtime, pid) == "20"


class TestCorrections:
    def test_028_reauthorises_lower_amount_under_new_payment_id(self, server, merchant, runtime):
        old = authorise(server, merchant, amount=5000)["payment_id"]
        reply = send(
            server, merchant, "028", payment_id=old, payment_amount=3000, reduction_flag="0"
        )
        assert reply.result == "0", reply.fields
        assert reply["base_payment_id"] == old
        assert reply["payment_id"] != old
        assert reply["reduced_amount"] == "3000"
        assert status_of(runtime, old) == "32"
        assert status_of(runtime, reply["payment_id"]) == "20"

    def test_029_partial_refund_of_captured_payment(self, server, merchant, runtime):
        old = authorise(server, merchant, amount=5000, sales_mode="1")["payment_id"]
        reply = send(
            server, merchant, "029", payment_id=old, payment_amount=1500, reduction_flag="1"
        )
        assert reply.result == "0", reply.fields
        assert reply["reduced_amount"] == "3500"
        assert status_of(runtime, old) == "60"
        assert status_of(runtime, reply["payment_id"]) == "40"

    def test_correction_to_higher_amount_answers_2013(self, server, merchant, runtime):
        old = authorise(server, merchant, amount=5000)["payment_id"]
        reply = send(
            server, merchant, "028", payment_id=old, payment_amount=6000, reduction_flag="0"
        )
        assert reply.code == "2013"
        assert status_of(runtime, old) == "20"

    def test_correction_whose_void_fails_answers_2010_with_new_payment(
        self, server, merchant, runtime
    ):
        old = authorise(server, merchant, amount=5000, card=VOID_FAILS_CARD)["payment_id"]
        reply = send(
            server, merchant, "028", payment_id=old, payment_amount=4000, reduction_flag="0"
        )
        assert reply.code == "2010"
        assert reply["payment_id"] and reply["payment_id"] != old
        assert status_of(runtime, old) == "20"


class TestInquiry:
    def test_094_answers_the_card_record(self, server, merchant):
        pid = authorise(server, merchant, trading_id="Q1", amount=2500)["payment_id"]
        reply = send(server, merchant, "094", payment_id=pid)
        assert reply.result == "0", reply.fields
        assert (reply["payment_status"], reply["payment_amount"], reply["payment_type"]) == (
            "20",
            "2500",
            "02",
        )
        assert reply["masked_card_number"] == "************0000"
        assert len(reply["payment_init_date"]) == 14

    def test_094_by_trading_id_answers_the_newest_card_payment_of_it(self, server, merchant):
        declined = authorise(server, merchant, trading_id="AGAIN", card="4900000000008101")
        assert declined.code == "2002"
        retry = authorise(server, merchant, trading_id="AGAIN")  # a new payment, as PAYGENT's
        reply = send(server, merchant, "094", trading_id="AGAIN")
        assert reply.result == "0", reply.fields
        assert (reply["payment_id"], reply["payment_status"]) == (retry["payment_id"], "20")

    def test_094_by_a_trading_id_two_methods_share_needs_the_payment_type(self, server, merchant):
        card = authorise(server, merchant, trading_id="SHARED")["payment_id"]
        atm = send(
            server,
            merchant,
            "010",
            path="/n/atm/request",
            trading_id="SHARED",
            payment_amount=5500,
            payment_detail="お買い物代金",
            payment_detail_kana="ｵｶｲﾓﾉﾀﾞｲｷﾝ",
        )
        assert atm.result == "0", atm.fields
        assert send(server, merchant, "094", trading_id="SHARED").code == "13002"
        by_type = send(server, merchant, "094", trading_id="SHARED", payment_type="02")
        assert by_type["payment_id"] == card
        by_type = send(server, merchant, "094", trading_id="SHARED", payment_type="01")
        assert by_type["payment_id"] == atm["payment_id"]

    def test_094_unknown_payment_answers_13001(self, server, merchant):
        assert send(server, merchant, "094", payment_id="999999999").code == "13001"

    def test_094_path_must_be_paymentref(self, server, merchant):
        reply = send(server, merchant, "094", path="/n/card/request", payment_id="1")
        assert reply.code == "P004"


class TestRefAndRetry:
    def test_ref_trading_id_reuses_the_earlier_card(self, server, merchant, runtime):
        authorise(server, merchant, trading_id="FIRST")
        reply = send(
            server, merchant, "020", trading_id="SECOND", payment_amount=700, ref_trading_id="FIRST"
        )
        assert reply.result == "0", reply.fields
        assert reply["masked_card_number"] == "************0000"

    def test_unknown_ref_trading_id_answers_2009(self, server, merchant):
        reply = send(
            server, merchant, "020", trading_id="X", payment_amount=700, ref_trading_id="NOPE"
        )
        assert reply.code == "2009"


def _payment_count(runtime: Runtime, merchant: NewMerchant) -> int:
    with runtime.core.sessions() as session:
        return (
            session.scalar(select(func.count()).where(Payment.merchant_id == merchant.merchant_id))
            or 0
        )


def _event_count(runtime: Runtime, payment_id: str) -> int:
    with runtime.core.sessions() as session:
        return (
            session.scalar(select(func.count()).where(PaymentEvent.payment_id == int(payment_id)))
            or 0
        )


class TestInputErrorRetry:
    """2003: the payment stays 申込済 and may be retried by payment_id up to three times (§3.2)."""

    INPUT_ERROR_CARD = "4900000000008244"  # 1G44 wrong security code → 2003

    def test_input_error_keeps_payment_open_and_a_retry_authorises_it(
        self, server, merchant, runtime
    ):
        reply = authorise(server, merchant, trading_id="R1", card=self.INPUT_ERROR_CARD)
        assert (reply.code, reply["response_detail"]) == ("2003", "1G44")
        pid = reply["payment_id"]
        assert pid and status_of(runtime, pid) == "10"
        retry = authorise(server, merchant, trading_id="R1", payment_id=pid)
        assert retry.result == "0", retry.fields
        assert retry["payment_id"] == pid
        assert status_of(runtime, pid) == "20"

    def test_fourth_retry_turns_the_payment_into_auth_ng(self, server, merchant, runtime):
        pid = authorise(server, merchant, trading_id="R2", card=self.INPUT_ERROR_CARD)["payment_id"]
        for _ in range(3):
            reply = authorise(
                server, merchant, trading_id="R2", card=self.INPUT_ERROR_CARD, payment_id=pid
            )
            assert reply.code == "2003"
        assert authorise(server, merchant, trading_id="R2", payment_id=pid).code == "2001"
        assert status_of(runtime, pid) == "11"


class TestScheduledExpiry:
    def test_worker_pass_expires_old_authorisations_and_notifies(
        self, server, merchant, runtime, clock
    ):
        from kessai.worker.scheduler import run_jobs_once

        pid = authorise(server, merchant)["payment_id"]
        clock.advance(timedelta(days=59))
        run_jobs_once(runtime.core, runtime.settings)
        assert status_of(runtime, pid) == "20"
        clock.advance(timedelta(days=1, seconds=1))
        assert run_jobs_once(runtime.core, runtime.settings)["expired"] >= 1
        # A pass expires at most 500, oldest first: on a database other tests share, this
        # payment may come in a later pass.
        while run_jobs_once(runtime.core, runtime.settings)["expired"]:
            pass
        assert status_of(runtime, pid) == "33"
        # The 20 notice is 60 days old by now and may have been purged (retention 30 days).
        assert [n[1] for n in notices(runtime, merchant)][-1] == "33"


class TestFrozenLayouts:
    """The reply layouts are frozen: merchants' parsers (PAYGENT's PHP and Java modules, the Go
    and Ruby clients) read them, and a field that moves or disappears breaks a shop."""

    def names(self, reply) -> list[str]:  # type: ignore[no-untyped-def]
        text = reply.raw.decode("cp932")
        return [line.split("=", 1)[0] for line in text.split("\r\n") if "=" in line]

    def test_020_reply_layout(self, server, merchant):
        assert self.names(authorise(server, merchant)) == [
            "result",
            "response_code",
            "response_detail",
            "payment_id",
            "trading_id",
            "issur_class",
            "acq_id",
            "acq_name",
            "issur_name",
            "issur_id",
            "attempt_kbn",
            "fingerprint",
            "masked_card_number",
            "card_valid_term",
            "fc_auth_umu",
            "daiko_code",
            "card_shu_code",
            "k_card_name",
            "out_acs_html",
        ]

    def test_error_reply_keeps_every_field_empty(self, server, merchant):
        reply = authorise(server, merchant, card="4900000000008101")
        assert self.names(reply)[:3] == ["result", "response_code", "response_detail"]
        assert self.names(reply)[-1] == "out_acs_html"
        assert len(self.names(reply)) == 19
        assert reply.raw.endswith(b"out_acs_html=\r\n")
