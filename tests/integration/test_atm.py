"""ATM / Pay-easy payments (010) end to end: apply over the module protocol, pay in the sandbox,
expire at the deadline, inquire with 094; notices for 40 and 12 (paygent-protocol.md §3.5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from kessai.connectors.sandbox.payeasy import SandboxPayEasy
from kessai.core.context import MerchantRef
from kessai.core.merchants.commands import NewMerchant
from kessai.core.payments.atm import commands as atm
from kessai.kit.clock import JST
from kessai.kit.errors import InvalidState
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

DETAIL = "お買い物代金"
DETAIL_KANA = "ｵｶｲﾓﾉﾀﾞｲｷﾝ"


def apply(server: str, merchant: NewMerchant, trading_id: str = "ATM1", **extra: str | int):
    return send(
        server,
        merchant,
        "010",
        path="/n/atm/request",
        trading_id=trading_id,
        payment_amount=5500,
        payment_detail=DETAIL,
        payment_detail_kana=DETAIL_KANA,
        customer_family_name="山田",
        customer_name="太郎",
        **extra,
    )


class TestApply:
    def test_010_issues_pay_easy_numbers_and_a_deadline_thirty_days_on(self, server, merchant):
        reply = apply(server, merchant)
        assert reply.result == "0", reply.fields
        assert len(reply["pay_center_number"]) == 5 and reply["pay_center_number"].isdigit()
        assert len(reply["customer_number"]) == 16 and reply["customer_number"].isdigit()
        assert len(reply["conf_number"]) == 6 and reply["conf_number"].isdigit()
        expected = (datetime.now(UTC).astimezone(JST) + timedelta(days=30)).strftime("%Y%m%d")
        assert reply["payment_limit_date"] == expected

    def test_094_answers_the_atm_record(self, server, merchant):
        pid = apply(server, merchant, payment_limit_date="3")["payment_id"]
        reply = send(server, merchant, "094", payment_id=pid)
        assert (reply["payment_type"], reply["payment_status"], reply["payment_amount"]) == (
            "01",
            "10",
            "5500",
        )
        assert reply["customer_family_name"] == "山田"

    def test_deadline_beyond_60_days_answers_p012(self, server, merchant):
        assert apply(server, merchant, payment_limit_date="61").code == "P012"

    def test_kanji_in_a_kana_field_answers_p008(self, server, merchant):
        reply = send(
            server,
            merchant,
            "010",
            path="/n/atm/request",
            trading_id="K1",
            payment_amount=100,
            payment_detail=DETAIL,
            payment_detail_kana="代金",
        )
        assert reply.code == "P008"

    def test_missing_payment_detail_answers_p005(self, server, merchant):
        reply = send(
            server,
            merchant,
            "010",
            path="/n/atm/request",
            trading_id="K2",
            payment_amount=100,
            payment_detail_kana=DETAIL_KANA,
        )
        assert reply.code == "P005"

    def test_merchant_without_atm_answers_p007(self, server, runtime):
        card_only = make_merchant(runtime, methods=["02"])
        assert apply(server, card_only).code == "P007"

    def test_card_telegram_on_an_atm_payment_answers_2004(self, server, merchant):
        pid = apply(server, merchant)["payment_id"]
        assert send(server, merchant, "022", payment_id=pid).code == "2004"


class TestPayAndExpire:
    def test_paid_at_the_atm_moves_10_to_40_and_notifies(self, server, merchant, runtime):
        pid = apply(server, merchant)["payment_id"]
        atm.pay(runtime.core, ref(merchant), int(pid))
        reply = send(server, merchant, "094", payment_id=pid)
        assert reply["payment_status"] == "40"
        assert len(reply["payment_date"]) == 14 and reply["bank_code"] == "9900"
        assert notice_statuses(runtime, merchant) == ["40"]

    def test_unpaid_past_the_deadline_expires_to_12(self, server, merchant, runtime, clock):
        pid = apply(server, merchant, payment_limit_date="1")["payment_id"]
        clock.advance(timedelta(days=1))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, pid) == "10"  # the deadline is the end of that day
        clock.advance(timedelta(days=1))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, pid) == "12"
        assert notice_statuses(runtime, merchant) == ["12"]

    def test_paid_payment_stays_paid_past_its_deadline(self, server, merchant, runtime, clock):
        pid = apply(server, merchant, payment_limit_date="0")["payment_id"]
        atm.pay(runtime.core, ref(merchant), int(pid))
        clock.advance(timedelta(days=3))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, pid) == "40"

    def test_payment_after_the_deadline_is_refused(self, server, merchant, runtime, clock):
        pid = apply(server, merchant, payment_limit_date="0")["payment_id"]
        clock.advance(timedelta(days=2))
        with pytest.raises(InvalidState):
            atm.pay(runtime.core, ref(merchant), int(pid))
        assert status(server, merchant, pid) == "12"

    @pytest.mark.skipif(test_db_kind() != "postgresql", reason="real concurrency on PostgreSQL")
    def test_concurrent_pay_and_expire_one_wins(self, server, runtime, clock):
        shop = make_merchant(runtime)
        pids = [
            int(apply(server, shop, f"RACE{i}", payment_limit_date="0")["payment_id"])
            for i in range(10)
        ]
        paid_at = clock.now()
        clock.advance(timedelta(days=1, hours=1))
        race_pay_and_expire(
            pids,
            lambda pid, at: atm.pay(runtime.core, ref(shop), pid, paid_at=at),
            lambda: atm.expire_due(runtime.core),
            paid_at,
        )
        for pid in pids:
            final = status(server, shop, str(pid))
            assert final in ("40", "12")
            assert payment_notice_statuses(runtime, pid) == [final]


def test_sandbox_cli_pays_and_refuses_production_merchants(server, merchant, runtime):
    pid = apply(server, merchant)["payment_id"]
    env = {
        **os.environ,
        "KESSAI_HOME": str(runtime.settings.home),
        "KESSAI_DATABASE_URL": runtime.settings.resolved_database_url(),
    }
    result = subprocess.run(
        [sys.executable, "-m", "kessai", "sandbox", "pay", pid],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == {"payment_id": int(pid), "payment_status": "40"}
    production = make_merchant(runtime, mode="production")
    assert apply(server, production, "PROD1").code == "P007"  # only a simulated agency here
    # A payment made while a real agency served the merchant (the sandbox's stands in for it).
    connected = replace(runtime.core, payeasy_for=lambda _merchant: SandboxPayEasy())
    request = atm.AtmRequest("PROD1", 5500, DETAIL, DETAIL_KANA)
    made = atm.apply(connected, MerchantRef(production.merchant_id, "production"), request)
    other = str(made.payment_id)
    refused = subprocess.run(
        [sys.executable, "-m", "kessai", "sandbox", "pay", other],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and "production mode" in refused.stderr
    assert status(server, production, other) == "10"
