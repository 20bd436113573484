"""CSV downloads of a search: Shift_JIS (CP932) or UTF-8 with a BOM, CRLF, the screen's columns
plus the details, streamed, and safe to open in Excel."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import insert

from kessai.core.console.permissions import Permission
from kessai.core.payments.models import Payment
from tests.support.console import card_payment, cvs_payment, make_user, merchant_ref, signed_in


@pytest.fixture
def staff(runtime, server, merchant):
    user = make_user(
        runtime,
        merchant.merchant_id,
        f"c{uuid.uuid4().hex[:10]}",
        permissions=frozenset(Permission),
    )
    return signed_in(server, user)


def rows_of(content: bytes, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode(encoding), newline="")))


def test_shift_jis_with_crlf_and_the_screen_columns_then_the_details(runtime, staff, merchant):
    card_payment(runtime, merchant.merchant_id, "CSVJ-1", 1000, capture=True)
    cvs_payment(runtime, merchant.merchant_id, "CSVJ-2", 2000, chain="00C001")

    response = staff.get(
        "/console/payments.csv", trading_id="CSVJ", trading_match="prefix", encoding="cp932"
    )

    assert response.headers["content-type"] == "text/csv; charset=shift_jis"
    assert "attachment" in response.headers["content-disposition"]
    assert b"\r\n" in response.content and not response.content.startswith(b"\xef\xbb\xbf")
    rows = rows_of(response.content, "cp932")
    assert rows[0][:9] == [
        "取引ID",
        "決済ID",
        "決済種別",
        "支払機関名",
        "決済ステータス",
        "取引日時",
        "支払期限日",
        "消込日時",
        "決済金額",
    ]
    assert "カード番号" in rows[0] and "受付番号" in rows[0]
    by_id = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert (
        by_id["CSVJ-1"]["決済ステータス"] == "消込済"
        and by_id["CSVJ-1"]["カード番号"] == "************0000"
    )
    assert by_id["CSVJ-2"]["支払機関名"] == "セブン-イレブン" and by_id["CSVJ-2"]["受付番号"]
    assert by_id["CSVJ-2"]["お客様名（姓）"] == "山田"


def test_utf8_starts_with_a_bom(runtime, staff, merchant):
    card_payment(runtime, merchant.merchant_id, "CSVU-1")
    response = staff.get("/console/payments.csv", trading_id="CSVU-1", encoding="utf-8")
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert rows_of(response.content, "utf-8-sig")[1][0] == "CSVU-1"


def test_formulas_are_defused_and_characters_outside_cp932_do_not_break_the_file(
    runtime, staff, merchant
):
    from kessai.core.payments.cvs import commands as cvs
    from kessai.core.payments.cvs.commands import CvsRequest

    cvs.apply(
        runtime.core,
        merchant_ref(runtime, merchant.merchant_id),
        CvsRequest(
            trading_id="CSVX-1",
            amount=500,
            cvs_type="",
            cvs_company_id="00C002",
            customer_family_name='=HYPERLINK("http://evil.example","x")',
            customer_name="🍣太郎",
            customer_tel="0312345678",
        ),
    )

    response = staff.get("/console/payments.csv", trading_id="CSVX-1", encoding="cp932")

    row = dict(zip(*rows_of(response.content, "cp932")[:2], strict=True))
    assert row["お客様名（姓）"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["お客様名（名）"] == "?太郎"


def test_the_download_is_the_whole_search_streamed_in_the_search_order(runtime, staff, merchant):
    merchant_id = merchant.merchant_id
    now = runtime.core.clock.now()
    with runtime.core.sessions.begin() as session:  # 2,500 rows: more than two fetch batches
        session.execute(
            insert(Payment),
            [
                {
                    "merchant_id": merchant_id,
                    "trading_id": f"BULKCSV{n:05d}",
                    "payment_type": "02",
                    "amount": 100 + n,
                    "status": "20",
                    "details": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(2500)
            ],
        )

    with staff.http.stream(
        "GET",
        "/console/payments.csv",
        params={
            "trading_id": "BULKCSV",
            "trading_match": "prefix",
            "sort": "amount",
            "order": "asc",
            "encoding": "utf-8",
        },
    ) as response:
        assert response.headers.get("transfer-encoding") == "chunked"
        chunks = list(response.iter_raw())
    rows = rows_of(b"".join(chunks), "utf-8-sig")

    assert len(rows) == 2501
    assert [row[8] for row in rows[1:4]] == ["100", "101", "102"]
    assert rows[-1][0] == "BULKCSV02499"


def test_without_the_download_permission_there_is_no_link_and_no_file(runtime, server, merchant):
    clerk = make_user(runtime, merchant.merchant_id, f"nd{uuid.uuid4().hex[:8]}")
    client = signed_in(server, clerk)
    page = client.get("/console/payments", created_from="")
    assert 'id="csv-sjis"' not in page.text
    assert client.get("/console/payments.csv").status_code == 403
