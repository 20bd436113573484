"""CVS number payments (030) end to end: apply over the module protocol at each chain, pay at the
till in the sandbox (43 first at 7-Eleven and FamilyMart), expire at the deadline, inquire with 094
(paygent-protocol.md §1.5 030, §3.3)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest

from kessai.core.merchants.commands import NewMerchant
from kessai.core.payments.cvs import commands as cvs
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

NUMBER_FORMATS = {
    "00C001": r"\d{13}",  # 7-Eleven 払込票番号
    "00C002": r"\d{11}",  # Lawson お客様番号 (+ 確認番号 400008)
    "00C004": r"\d{11}",  # Ministop
    "00C005": r"\d{5}-\d{12}",  # FamilyMart 企業コード-注文番号
    "00C006": r"\d{5}-\d{12}",  # Circle K Sunkus (Famiポート)
    "00C014": r"\d{11}",  # Daily Yamazaki
    "00C016": r"\d{6}",  # Seicomart 受付番号
}


def apply(server: str, merchant: NewMerchant, trading_id: str = "CVS1", **extra: str | int):
    fields: dict[str, str | int] = {
        "cvs_company_id": "00C002",
        "payment_amount": 3300,
        "customer_family_name": "山田",
        "customer_name": "花子",
        "customer_tel": "0312345678",
    } | extra
    return send(server, merchant, "030", path="/n/conveni/request", trading_id=trading_id, **fields)


class TestApply:
    @pytest.mark.parametrize(("company", "pattern"), sorted(NUMBER_FORMATS.items()))
    def test_each_chain_issues_its_own_number_format(self, server, merchant, company, pattern):
        reply = apply(server, merchant, cvs_company_id=company, sales_type="1")
        assert reply.result == "0", reply.fields
        assert re.fullmatch(pattern, reply["receipt_number"]), reply["receipt_number"]
        assert reply["usable_cvs_company_id"] == company
        assert len(reply["payment_limit_date"]) == 8

    def test_cvs_type_02_is_good_at_lawson_ministop_and_daily(self, server, merchant):
        reply = apply(server, merchant, cvs_type="02", cvs_company_id="")
        assert reply["usable_cvs_company_id"] == "00C002-00C004-00C014"

    def test_application_is_notified_with_status_10(self, server, merchant, runtime):
        apply(server, merchant)
        assert notice_statuses(runtime, merchant) == ["10"]

    def test_094_answers_the_cvs_record(self, server, merchant):
        reply = apply(server, merchant)
        inquiry = send(server, merchant, "094", payment_id=reply["payment_id"])
        assert (inquiry["payment_type"], inquiry["payment_status"]) == ("03", "10")
        assert inquiry["receipt_number"] == reply["receipt_number"]
        assert inquiry["customer_tel"] == "0312345678"

    @pytest.mark.parametrize(
        ("fields", "code"),
        [
            ({"cvs_company_id": "00C999"}, "P010"),
            ({"cvs_company_id": ""}, "P005"),
            ({"cvs_type": "09"}, "P010"),
            ({"payment_limit_date": "61"}, "P012"),
            ({"payment_amount": "300000"}, "P011"),
            ({"customer_tel": "03-1234-5678"}, "P008"),
            ({"customer_name": "ﾊﾅｺ"}, "P008"),
            ({"cvs_company_id": "00C001"}, "P005"),  # 7-Eleven needs sales_type
            ({"cvs_type": "03", "cvs_company_id": ""}, "P005"),
            ({"cvs_company_id": "00C001", "sales_type": "2"}, "P010"),
            # PAYGENT's stub: CVS type 02 with this telephone number is refused by the vendor.
            ({"cvs_type": "02", "cvs_company_id": "", "customer_tel": "99999999999"}, "3002"),
        ],
    )
    def test_bad_input_is_refused_and_nothing_stored(self, server, merchant, runtime, fields, code):
        assert apply(server, merchant, **fields).code == code
        assert notice_statuses(runtime, merchant) == []


class TestAtTheTill:
    def test_lawson_payment_is_final_at_once(self, server, merchant, runtime):
        pid = apply(server, merchant)["payment_id"]
        cvs.pay(runtime.core, ref(merchant), int(pid))
        assert status(server, merchant, pid) == "40"
        assert notice_statuses(runtime, merchant) == ["10", "40"]

    def test_seven_eleven_reports_first_then_confirms(self, server, merchant, runtime):
        pid = apply(server, merchant, cvs_company_id="00C001", sales_type="1")["payment_id"]
        cvs.pay(runtime.core, ref(merchant), int(pid))
        assert status(server, merchant, pid) == "43"
        cvs.settle_report(runtime.core, ref(merchant), int(pid), confirmed=True)
        assert status(server, merchant, pid) == "40"
        assert notice_statuses(runtime, merchant) == ["10", "43", "40"]

    def test_withdrawn_report_ends_61(self, server, merchant, runtime):
        pid = apply(server, merchant, cvs_company_id="00C005")["payment_id"]
        cvs.pay(runtime.core, ref(merchant), int(pid))
        cvs.settle_report(runtime.core, ref(merchant), int(pid), confirmed=False)
        assert status(server, merchant, pid) == "61"

    def test_paid_then_past_the_deadline_stays_paid(self, server, merchant, runtime, clock):
        pid = apply(server, merchant, payment_limit_date="0")["payment_id"]
        cvs.pay(runtime.core, ref(merchant), int(pid))
        clock.advance(timedelta(days=2))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, pid) == "40"

    def test_unpaid_expires_at_the_deadline_with_a_notice(self, server, merchant, runtime, clock):
        pid = apply(server, merchant, payment_limit_date="0")["payment_id"]
        clock.advance(timedelta(days=2))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, pid) == "12"
        with pytest.raises(InvalidState):
            cvs.pay(runtime.core, ref(merchant), int(pid))
        assert notice_statuses(runtime, merchant) == ["10", "12"]

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
            lambda pid, at: cvs.pay(runtime.core, ref(shop), pid, paid_at=at),
            lambda: cvs.expire_due(runtime.core),
            paid_at,
        )
        for pid in pids:
            final = status(server, shop, str(pid))
            assert final in ("40", "12")
            assert payment_notice_statuses(runtime, pid) == ["10", final]


def test_sandbox_cli_pays_at_seven_eleven_and_confirms(server, merchant, runtime):
    pid = apply(server, merchant, cvs_company_id="00C001", sales_type="1")["payment_id"]
    env = {
        **os.environ,
        "KESSAI_HOME": str(runtime.settings.home),
        "KESSAI_DATABASE_URL": runtime.settings.resolved_database_url(),
    }

    def kessai(*args: str) -> dict[str, object]:
        result = subprocess.run(
            [sys.executable, "-m", "kessai", "sandbox", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return dict(json.loads(result.stdout))

    assert kessai("pay", pid)["payment_status"] == "43"
    assert kessai("move", pid, "--to", "40")["payment_status"] == "40"


class TestReceiptPage:
    def test_receipt_print_url_shows_the_number_and_the_chains_steps(self, server, merchant):
        reply = apply(server, merchant, cvs_company_id="00C002")
        url = reply["receipt_print_url"]
        assert url.startswith(server + "/cvs/receipt/")
        page = httpx.get(url)
        assert page.status_code == 200
        assert reply["receipt_number"] in page.text and "400008" in page.text
        assert "ローソン" in page.text and "Loppi" in page.text
        assert "3,300円" in page.text
        assert "<script" not in page.text  # works on simple phones, no JavaScript

    def test_guessed_receipt_url_is_not_found(self, server, merchant):
        url = apply(server, merchant)["receipt_print_url"]
        payment_id, token = url.rsplit("/", 2)[-2:]
        assert httpx.get(f"{server}/cvs/receipt/{payment_id}/{'0' * len(token)}").status_code == 404
        other = int(payment_id) + 1
        assert httpx.get(f"{server}/cvs/receipt/{other}/{token}").status_code == 404
