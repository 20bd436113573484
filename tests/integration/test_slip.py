"""CVS payment slips (040) end to end: apply over the module protocol and the SDK, the slip's page
and PDF (its GS1-128 barcode read back from the rendered page), paid at any listed chain in the
sandbox (43, then 40 or 61), slips paid without an application, expiry at the deadline, 094 and
091 (paygent-protocol.md §1.5 040, §3.4, §4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import httpx
import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import func, select

from kessai.app import Runtime
from kessai.client import KessaiClient, SlipItem
from kessai.connectors.sandbox.slip import SANDBOX_CHAINS, SANDBOX_COMPANY_CODE
from kessai.core.merchants.commands import NewMerchant
from kessai.core.payments import testtool
from kessai.core.payments.models import Payment
from kessai.core.payments.slip import commands as slip
from kessai.kit import cvs_barcode
from kessai.kit.clock import JST
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

PATH = "/n/conveni/request_print"
PAYER: dict[str, str | int] = {
    "customer_family_name": "山田",
    "customer_name": "花子",
    "customer_zip_code": "1500001",
    "customer_address_1": "東京都渋谷区神宮前1-2-3",
    "customer_address_2": "ケッサイビル4階",
    "customer_tel": "03-1234-5678",
}


def apply(server: str, merchant: NewMerchant, trading_id: str = "SLIP1", **extra: str | int):
    fields: dict[str, str | int] = {"payment_amount": 3300, **PAYER, **extra}
    return send(server, merchant, "040", path=PATH, trading_id=trading_id, **fields)


def applied(server: str, merchant: NewMerchant, trading_id: str = "SLIP1", **extra: str | int):
    reply = apply(server, merchant, trading_id, **extra)
    assert reply.result == "0", reply.fields
    return reply


def days_on(days: int) -> str:
    return (datetime.now(UTC).astimezone(JST) + timedelta(days=days)).strftime("%Y%m%d")


def payments_of(runtime: Runtime, merchant: NewMerchant) -> int:
    with runtime.core.sessions() as session:
        query = select(func.count()).where(Payment.merchant_id == merchant.merchant_id)
        return int(session.scalar(query) or 0)


def read_pdf(data: bytes) -> tuple[list[zxingcpp.Result], str]:
    """The barcodes on the page's till half as printed at 600 dpi (a laser printer's resolution;
    at 300 dpi a 0.19 mm module is 2.24 pixels and about one code in ten reads badly), and the
    page's text."""
    document = pdfium.PdfDocument(data)
    try:
        page = document[0]
        upper_part = 167 / 25.4 * 72  # points above the 130 mm that hold the till's parts
        image = page.render(scale=600 / 72, crop=(0, 0, 0, upper_part), grayscale=True).to_pil()
        text = page.get_textpage().get_text_range()
        return list(zxingcpp.read_barcodes(image)), text
    finally:
        document.close()


class TestApply:
    def test_040_answers_a_slip_url_and_a_barcode_in_the_guidelines_layout(self, server, merchant):
        reply = applied(server, merchant, payment_limit_date="14")
        code = reply["bar_code"]
        fields = cvs_barcode.parse(code)  # 44 digits, AI 91, its check digit right
        assert fields.company_code == SANDBOX_COMPANY_CODE
        assert fields.amount == 3300 and not fields.stamp and fields.reissue == 0
        assert fields.deadline.strftime("%Y%m%d") == reply["payment_limit_date"] == days_on(14)
        assert reply["bill_expiration_date"] == reply["payment_limit_date"]
        assert reply["slip_url"].startswith(f"{server}/cvs/slip/{reply['payment_id']}/")

    def test_each_slip_gets_its_own_number(self, server, merchant):
        first = applied(server, merchant, "A")["bar_code"]
        second = applied(server, merchant, "B")["bar_code"]
        assert first[8:29] != second[8:29]

    def test_application_is_not_notified(self, server, merchant, runtime):
        applied(server, merchant)
        assert notice_statuses(runtime, merchant) == []  # 10 is not ● for slips (§3.1)

    def test_094_answers_the_slip_record(self, server, merchant):
        reply = applied(server, merchant)
        record = send(server, merchant, "094", payment_id=reply["payment_id"])
        assert (record["payment_type"], record["payment_status"]) == ("04", "10")
        assert record["bar_code"] == reply["bar_code"]
        assert record["slip_url"] == reply["slip_url"]
        assert record["customer_tel"] == "03-1234-5678"
        assert record["usable_cvs_company_id"] == "-".join(SANDBOX_CHAINS)

    @pytest.mark.parametrize(
        ("fields", "stamp"),
        [
            ({"payment_amount": 49999}, False),
            ({"payment_amount": 50000}, True),
            ({"payment_amount": 54000, "sales_tax_amount": 4910}, False),  # 49,090 before tax
            ({"payment_amount": 55000, "sales_tax_amount": 5000}, True),
        ],
    )
    def test_stamp_flag_asks_for_a_revenue_stamp_from_50000_yen_before_tax(
        self, server, merchant, fields, stamp
    ):
        assert cvs_barcode.parse(applied(server, merchant, **fields)["bar_code"]).stamp is stamp

    def test_items_adding_up_with_the_tax_stated_apart_are_accepted(self, server, merchant):
        reply = applied(
            server,
            merchant,
            payment_amount=5500,
            tax_class="1",
            sales_tax_amount=500,
            item_date_1="20260401",
            item_detail_1="Tシャツ Mサイズ",
            item_amount_1=3000,
            item_detail_2="送料",
            item_amount_2=2000,
        )
        assert reply.result == "0"

    def test_bill_expiration_date_keeps_the_slip_valid_past_its_printed_deadline(
        self, server, merchant
    ):
        reply = applied(server, merchant, payment_limit_date="3", bill_expiration_date="10")
        assert reply["payment_limit_date"] == days_on(3)
        assert reply["bill_expiration_date"] == days_on(10)
        assert cvs_barcode.parse(reply["bar_code"]).deadline.strftime("%Y%m%d") == days_on(10)

    def test_a_company_needs_no_given_name(self, server, merchant):
        reply = apply(
            server,
            merchant,
            customer_type="1",
            customer_family_name="株式会社決済",
            customer_name="",
            customer_dept="経理部",
            customer_representative="佐藤",
        )
        assert reply.result == "0", reply.fields

    @pytest.mark.parametrize(
        ("fields", "code"),
        [
            ({"payment_amount": "300000"}, "P011"),  # the tills' limit
            ({"payment_amount": "1000000"}, "P009"),  # 6 digits
            ({"payment_amount": "0"}, "P014"),
            ({"payment_limit_date": "0"}, "P012"),
            ({"payment_limit_date": "365"}, "P012"),
            ({"payment_limit_date": "5", "bill_expiration_date": "4"}, "P012"),
            ({"customer_name": ""}, "P006"),  # a person needs a given name
            ({"customer_family_name": "ﾔﾏﾀﾞ"}, "P008"),
            ({"customer_zip_code": "150-0001"}, "P008"),
            ({"customer_tel": "03(1234)5678"}, "P008"),
            ({"customer_tel": "03-1234-567"}, "P010"),
            ({"tax_class": "2"}, "P010"),
            ({"sales_tax_amount": "4000"}, "P010"),  # more than the amount
            ({"item_detail_1": "本", "item_amount_1": "3000"}, "P010"),  # not the total
            ({"item_detail_1": "本"}, "P006"),  # a line without its amount
            ({"item_date_1": "20261340", "item_amount_1": "3300"}, "P010"),
        ],
    )
    def test_bad_input_gets_its_code_and_nothing_is_stored(
        self, server, merchant, runtime, fields, code
    ):
        reply = apply(server, merchant, **fields)
        assert reply.code == code, reply.fields
        assert reply["payment_id"] == ""
        assert payments_of(runtime, merchant) == 0

    def test_missing_given_name_of_a_person_answers_p005(self, server, merchant, runtime):
        fields = {name: value for name, value in PAYER.items() if name != "customer_name"}
        reply = send(
            server, merchant, "040", path=PATH, trading_id="X", payment_amount=100, **fields
        )
        assert reply.code == "P005"
        assert payments_of(runtime, merchant) == 0

    def test_merchant_without_slips_answers_p007(self, server, runtime):
        card_only = make_merchant(runtime, methods=["02"])
        assert apply(server, card_only).code == "P007"

    def test_040_on_the_cvs_number_path_answers_p004(self, server, merchant):
        fields = {"payment_amount": 3300, **PAYER}
        reply = send(server, merchant, "040", path="/n/conveni/request", trading_id="X", **fields)
        assert reply.code == "P004"


class TestAtTheTill:
    def test_paid_slip_is_reported_43_and_notified_with_chain_and_date(
        self, server, merchant, runtime
    ):
        pid = applied(server, merchant)["payment_id"]
        slip.pay(runtime.core, ref(merchant), int(pid), company_id="00C002")
        record = send(server, merchant, "094", payment_id=pid)
        assert (record["payment_status"], record["cvs_company_id"]) == ("43", "00C002")
        assert len(record["user_payment_date"]) == 14 and record["payment_date"] == ""
        notice = send(server, merchant, "091")
        assert (notice["payment_id"], notice["payment_type"]) == (pid, "04")
        assert (notice["payment_status"], notice["cvs_company_id"]) == ("43", "00C002")
        assert notice["user_payment_date"] == record["user_payment_date"]
        assert notice["bar_code"] == record["bar_code"]

    def test_confirmed_report_is_paid_40(self, server, merchant, runtime):
        pid = int(applied(server, merchant)["payment_id"])
        slip.pay(runtime.core, ref(merchant), pid)
        slip.settle_report(runtime.core, ref(merchant), pid, confirmed=True)
        record = send(server, merchant, "094", payment_id=str(pid))
        assert record["payment_status"] == "40" and len(record["payment_date"]) == 14
        assert notice_statuses(runtime, merchant) == ["43", "40"]

    def test_withdrawn_report_ends_61(self, server, merchant, runtime):
        pid = int(applied(server, merchant)["payment_id"])
        slip.pay(runtime.core, ref(merchant), pid)
        slip.settle_report(runtime.core, ref(merchant), pid, confirmed=False)
        assert status(server, merchant, str(pid)) == "61"
        assert notice_statuses(runtime, merchant) == ["43", "61"]

    @pytest.mark.parametrize("chain", SANDBOX_CHAINS)
    def test_any_listed_chain_takes_the_slip(self, server, merchant, runtime, chain):
        pid = applied(server, merchant)["payment_id"]
        slip.pay(runtime.core, ref(merchant), int(pid), company_id=chain)
        assert send(server, merchant, "094", payment_id=pid)["cvs_company_id"] == chain

    def test_an_unlisted_chain_cannot_take_it(self, server, merchant, runtime):
        pid = applied(server, merchant)["payment_id"]
        with pytest.raises(InvalidRequest):
            slip.pay(runtime.core, ref(merchant), int(pid), company_id="00C999")
        assert status(server, merchant, pid) == "10"

    def test_paid_twice_the_first_payment_stands(self, server, merchant, runtime):
        pid = int(applied(server, merchant)["payment_id"])
        slip.pay(runtime.core, ref(merchant), pid, company_id="00C005")
        again = slip.pay(runtime.core, ref(merchant), pid, company_id="00C001")
        assert (again.status, again.detail("cvs_company_id")) == ("43", "00C005")
        assert payment_notice_statuses(runtime, pid) == ["43"]

    def test_unreported_slip_cannot_be_confirmed(self, server, merchant, runtime):
        pid = int(applied(server, merchant)["payment_id"])
        with pytest.raises(InvalidState):
            slip.settle_report(runtime.core, ref(merchant), pid, confirmed=True)

    def test_unpaid_slip_expires_after_its_validity_with_a_notice(
        self, server, merchant, runtime, clock
    ):
        pid = applied(server, merchant, payment_limit_date="1")["payment_id"]
        clock.advance(timedelta(days=1))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, pid) == "10"  # valid until 23:59:59 that day
        clock.advance(timedelta(days=1))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, pid) == "12"
        with pytest.raises(InvalidState):
            slip.pay(runtime.core, ref(merchant), int(pid))
        assert notice_statuses(runtime, merchant) == ["12"]

    def test_paid_slip_stays_paid_when_the_test_clock_passes_its_deadline(self, server, runtime):
        shop = make_merchant(runtime)
        paid = applied(server, shop, "PAID", payment_limit_date="1")["payment_id"]
        unpaid = applied(server, shop, "UNPAID", payment_limit_date="1")["payment_id"]
        slip.pay(runtime.core, ref(shop), int(paid))
        moved = testtool.advance_clock(runtime.core, shop.merchant_id, timedelta(days=3))
        assert moved.expired >= 1
        assert status(server, shop, paid) == "43"
        assert status(server, shop, unpaid) == "12"
        slip.settle_report(runtime.core, ref(shop), int(paid), confirmed=True)
        assert status(server, shop, paid) == "40"

    def test_moving_one_merchants_test_clock_leaves_another_merchants_payments_alone(
        self, server, runtime, clock
    ):
        mine, theirs = make_merchant(runtime), make_merchant(runtime)
        own = applied(server, mine, "MINE", payment_limit_date="1")["payment_id"]
        other = applied(server, theirs, "THEIRS", payment_limit_date="1")["payment_id"]
        clock.advance(timedelta(days=3))  # both are past their deadline; no worker has run yet
        moved = testtool.advance_clock(runtime.core, mine.merchant_id, timedelta(hours=1))
        assert moved.expired == 1  # counted and closed: this merchant's own payment only

        def stored() -> tuple[str, str]:  # the rows (094 shows a due expiry as it reads)
            with runtime.core.sessions() as session:
                mine_row = session.get_one(Payment, int(own))
                their_row = session.get_one(Payment, int(other))
                return mine_row.status, their_row.status

        assert stored() == ("12", "10")
        run_jobs_once(runtime.core, runtime.settings)  # the other one is the worker's
        assert stored() == ("12", "12")

    @pytest.mark.skipif(test_db_kind() != "postgresql", reason="real concurrency on PostgreSQL")
    def test_concurrent_pay_and_expire_one_wins(self, server, runtime, clock):
        shop = make_merchant(runtime)
        pids = [
            int(applied(server, shop, f"RACE{i}", payment_limit_date="1")["payment_id"])
            for i in range(10)
        ]
        paid_at = clock.now()
        clock.advance(timedelta(days=2, hours=1))
        race_pay_and_expire(
            pids,
            lambda pid, at: slip.pay(runtime.core, ref(shop), pid, paid_at=at),
            lambda: slip.expire_due(runtime.core),
            paid_at,
        )
        for pid in pids:
            final = status(server, shop, str(pid))
            assert final in ("43", "12")
            assert payment_notice_statuses(runtime, pid) == [final]


class TestSandboxTool:
    def test_the_tools_moves_for_slips(self, server, merchant, runtime):
        core, shop = runtime.core, ref(merchant)
        inp = testtool.MoveInput(company_id="00C016")
        first = int(applied(server, merchant, "T1")["payment_id"])
        assert testtool.pay(core, shop, first, inp).status == "43"
        assert testtool.move(core, shop, first, "40", inp).status == "40"
        second = int(applied(server, merchant, "T2")["payment_id"])
        assert testtool.move(core, shop, second, "43", inp).status == "43"
        assert testtool.move(core, shop, second, "61", inp).status == "61"
        third = int(applied(server, merchant, "T3")["payment_id"])
        with pytest.raises(InvalidState):  # 10 → 40 is not a slip's move (§4)
            testtool.move(core, shop, third, "40", inp)
        assert testtool.move(core, shop, third, "12", inp).status == "12"
        assert notice_statuses(runtime, merchant) == ["43", "40", "43", "61", "12"]

    def test_a_slip_paid_without_application_appears_as_43(self, server, merchant, runtime):
        view = testtool.slip_payment(
            runtime.core,
            merchant.merchant_id,
            amount=1200,
            company_id="00C005",
            free_field="12345678901234567",
        )
        record = send(server, merchant, "094", payment_id=str(view.payment_id))
        assert (record["payment_type"], record["payment_status"]) == ("04", "43")
        assert (record["payment_amount"], record["cvs_company_id"]) == ("1200", "00C005")
        code = cvs_barcode.parse(record["bar_code"])
        assert code.free_field == "123456789012345670000" and code.amount == 1200
        assert notice_statuses(runtime, merchant) == ["43"]
        slip.settle_report(runtime.core, ref(merchant), view.payment_id, confirmed=True)
        assert status(server, merchant, str(view.payment_id)) == "40"

    def test_production_merchants_cannot_generate_slip_payments(self, runtime):
        production = make_merchant(runtime, mode="production")
        with pytest.raises(Exception, match="production mode"):
            testtool.slip_payment(runtime.core, production.merchant_id, amount=100)

    def test_the_cli_pays_confirms_and_generates_slip_payments(self, server, merchant, runtime):
        pid = applied(server, merchant)["payment_id"]
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

        assert kessai("pay", pid, "--chain", "00C005")["payment_status"] == "43"
        assert kessai("move", pid, "--to", "40")["payment_status"] == "40"
        made = kessai("slip-payment", str(merchant.merchant_id), "--amount", "800")
        assert made["payment_status"] == "43"
        assert status(server, merchant, str(made["payment_id"])) == "43"


class TestSlipPages:
    def test_slip_url_says_what_to_do_and_links_the_pdf(self, server, merchant):
        url = applied(server, merchant)["slip_url"]
        page = httpx.get(url)
        assert page.status_code == 200
        assert "テスト加盟店" in page.text and "3,300円" in page.text
        assert f'href="{url.removeprefix(server)}/slip.pdf"' in page.text
        assert "セブン-イレブン" in page.text and "レジ" in page.text
        assert "<script" not in page.text

    def test_the_pdfs_barcode_reads_back_as_the_gs1_128_code(self, server, merchant):
        reply = applied(
            server,
            merchant,
            payment_amount=55000,
            sales_tax_amount=5000,
            item_date_1="20260401",
            item_detail_1="ノートパソコン",
            item_amount_1=55000,
        )
        pdf = httpx.get(reply["slip_url"] + "/slip.pdf")
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        barcodes, text = read_pdf(pdf.content)
        assert len(barcodes) == 1
        symbol = barcodes[0]
        assert symbol.format == zxingcpp.BarcodeFormat.Code128
        assert symbol.symbology_identifier == "]C1"  # FNC1 first: GS1-128
        assert symbol.bytes.decode() == reply["bar_code"]
        for line in cvs_barcode.human_readable(reply["bar_code"]):
            assert line in text
        assert "山田 花子 様" in text and "55,000円" in text and "ノートパソコン" in text
        assert "収入印紙" in text  # the stamp flag is set

    def test_no_pdf_once_the_slip_is_paid(self, server, merchant, runtime):
        reply = applied(server, merchant)
        slip.pay(runtime.core, ref(merchant), int(reply["payment_id"]))
        assert httpx.get(reply["slip_url"] + "/slip.pdf").status_code == 410
        assert "お支払いを確認しました" in httpx.get(reply["slip_url"]).text

    def test_a_guessed_url_is_not_found(self, server, merchant):
        url = applied(server, merchant)["slip_url"]
        payment_id, token = url.rsplit("/", 2)[-2:]
        wrong = f"{server}/cvs/slip/{payment_id}/{'0' * len(token)}"
        assert httpx.get(wrong).status_code == 404
        assert httpx.get(wrong + "/slip.pdf").status_code == 404
        other = f"{server}/cvs/slip/{int(payment_id) + 1}/{token}"
        assert httpx.get(other).status_code == 404


def test_the_sdk_applies_for_a_slip_and_inquires_it(server, merchant):
    with KessaiClient(
        server,
        merchant_id=merchant.merchant_id,
        connect_id=merchant.connect_id,
        connect_password=merchant.connect_password,
    ) as kessai:
        result = kessai.apply_slip(
            trading_id="SDK_SLIP",
            payment_amount=4400,
            customer_family_name="株式会社決済",
            company=True,
            customer_dept="経理部",
            customer_zip_code="1000001",
            customer_address_1="東京都千代田区千代田1-1",
            customer_tel="0312345678",
            payment_limit_date=7,
            tax_class=1,
            sales_tax_amount=400,
            items=[SlipItem(4000, "年会費", date(2026, 4, 1))],
        )
        assert result.ok, (result.response_code, result.response_detail)
        assert result.slip_url and result.bar_code and len(result.bar_code) == 44
        assert result.payment_limit_date == days_on(7)
        inquiry = kessai.inquire(payment_id=result.payment_id)
        assert (inquiry.payment_type, inquiry.payment_status) == ("04", "10")
        assert inquiry.get("bar_code") == result.bar_code
        refused = kessai.apply_slip(
            payment_amount=300000,
            customer_family_name="山田",
            customer_name="花子",
            customer_zip_code="1000001",
            customer_address_1="東京都",
            customer_tel="0312345678",
        )
        assert (refused.ok, refused.response_code) == (False, "P011")
    assert httpx.get(result.slip_url + "/slip.pdf").status_code == 200
