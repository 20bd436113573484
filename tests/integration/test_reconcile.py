"""The merchant's reconciliation (消し込み) through the core, on SQLite and PostgreSQL: each class by
its 取引ID, the statement and payout a paid payment is on, deadlines and overdue, the period, bad
files storing nothing, tenant isolation, the same file giving the same result, and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kessai.app import Runtime
from kessai.core.ledger.postings import business_date
from kessai.core.merchants.commands import NewMerchant
from kessai.core.reconcile.classes import ReconClass
from kessai.core.reconcile.models import Reconciliation
from kessai.core.reconcile.orders import ColumnMap
from kessai.core.reconcile.views import ReconRow, history, iter_rows, rows, summary, write_csv
from kessai.kit.errors import InvalidRequest, NotFound
from tests.conftest import TestClock, make_merchant
from tests.support.console import card_payment, cvs_payment
from tests.support.reconcile import EXPECTED, every_class, run
from tests.support.statements import closed_statement


def _rows(
    runtime: Runtime, merchant_id: int, rid: int, cls: ReconClass | None = None
) -> list[ReconRow]:
    with runtime.core.sessions() as session:
        return rows(
            session, merchant_id=merchant_id, reconciliation_id=rid, cls=cls, offset=0, limit=1000
        )


def _by_trading_id(found: list[ReconRow]) -> dict[str, ReconRow]:
    return {r.trading_id: r for r in found if r.cls is not ReconClass.DUPLICATE_ORDERS}


def test_every_order_and_payment_lands_in_its_class(runtime: Runtime, merchant: NewMerchant):
    made = every_class(runtime, merchant.merchant_id)
    rid = run(runtime, merchant.merchant_id, made.orders.encode("cp932"))
    found = _rows(runtime, merchant.merchant_id, rid)
    assert {tid: r.cls.value for tid, r in _by_trading_id(found).items()} == EXPECTED
    duplicates = [r for r in found if r.cls is ReconClass.DUPLICATE_ORDERS]
    assert [(r.trading_id, r.order_line, r.payment_ids) for r in duplicates] == [("M-1", 9, [])]
    for tid, ids in made.payment_ids.items():
        assert _by_trading_id(found)[tid].payment_ids == sorted(ids)


def test_each_class_carries_its_amounts_deadline_and_payment(
    runtime: Runtime, merchant: NewMerchant
):
    made = every_class(runtime, merchant.merchant_id)
    rid = run(runtime, merchant.merchant_id, made.orders.encode("utf-8"))
    row = _by_trading_id(_rows(runtime, merchant.merchant_id, rid))
    assert (row["M-1"].order_amount, row["M-1"].paid_amount, row["M-1"].difference) == (
        1200,
        1200,
        0,
    )
    assert row["M-1"].paid_at is not None and row["M-1"].order_line == 2
    assert (row["D-1"].paid_amount, row["D-1"].difference) == (900, -100)
    assert (row["T-2"].paid_amount, row["T-2"].difference) == (1600, 800)
    assert (row["C-PART"].paid_amount, row["C-PART"].difference) == (1500, -500)
    assert (row["C-REFUND"].paid_amount, row["C-REFUND"].difference) == (None, -500)
    assert (row["N-1"].order_amount, row["N-1"].paid_amount, row["N-1"].order_line) == (
        None,
        700,
        None,
    )
    unpaid_cvs, unpaid_none = row["U-CVS"], row["U-NONE"]
    assert unpaid_cvs.deadline is not None and not unpaid_cvs.overdue
    assert unpaid_none.deadline is None and unpaid_none.expected_date == date(2020, 1, 31)
    assert unpaid_none.overdue and unpaid_none.method == "銀行振込"


def test_summary_totals_add_up_to_the_list_and_the_period(runtime: Runtime, merchant: NewMerchant):
    made = every_class(runtime, merchant.merchant_id)
    rid = run(runtime, merchant.merchant_id, made.orders.encode("utf-8-sig"))
    with runtime.core.sessions() as session:
        shown = summary(session, merchant_id=merchant.merchant_id, reconciliation_id=rid)
    assert shown.encoding == "utf-8-sig" and shown.order_lines == 8 and shown.created_by == "test"
    assert {cls.value: t.count for cls, t in shown.totals.items()} == {
        "matched": 1, "amount_differs": 1, "unpaid": 2, "cancelled": 2, "paid_twice": 1,
        "unmatched_payments": 1, "duplicate_orders": 1,
    }  # fmt: skip
    assert (
        sum(t.order_amount for t in shown.totals.values())
        == 1200 * 2 + 1000 + 3000 + 450 + 500 + 2000 + 800
    )
    # paid in the period: M-1, D-1, C-PART's new payment, T-2 twice, N-1
    assert sum(t.paid_amount for t in shown.totals.values()) == 1200 + 900 + 1500 + 1600 + 700
    assert shown.payments == sum(len(ids) for ids in made.payment_ids.values()) == 9
    assert sum(t.payments for t in shown.totals.values()) == shown.payments


def test_a_paid_order_names_the_statement_and_payout_date_that_carried_it(
    runtime: Runtime, merchant: NewMerchant
):
    closed = closed_statement(runtime, merchant.merchant_id, "S-1", 5000)
    rid = run(runtime, merchant.merchant_id, "取引ID,金額\nS-1,5000\n".encode())
    (row,) = _rows(runtime, merchant.merchant_id, rid)
    assert row.cls is ReconClass.MATCHED and row.payment_ids == [closed.payment_id]
    assert row.statement_id == closed.statement_id
    assert row.payout_date is not None and row.payout_date.isoformat() == closed.payout_date


def test_an_issued_payment_turns_overdue_once_its_deadline_passes(
    runtime: Runtime, merchant: NewMerchant, clock: TestClock
):
    cvs_payment(runtime, merchant.merchant_id, "LATE", 2500)
    body = "取引ID,金額\nLATE,2500\n".encode()
    (before,) = _rows(runtime, merchant.merchant_id, run(runtime, merchant.merchant_id, body))
    assert before.cls is ReconClass.UNPAID and not before.overdue
    assert before.deadline is not None
    (after,) = _rows(
        runtime,
        merchant.merchant_id,
        run(runtime, merchant.merchant_id, body, now=before.deadline + timedelta(seconds=1)),
    )
    assert after.cls is ReconClass.UNPAID and after.overdue and after.deadline == before.deadline


def test_an_authorised_card_payment_not_captured_is_unpaid(runtime: Runtime, merchant: NewMerchant):
    pid = card_payment(runtime, merchant.merchant_id, "AUTH", 1000, capture=False)
    (row,) = _rows(
        runtime,
        merchant.merchant_id,
        run(runtime, merchant.merchant_id, b"trading_id,amount\nAUTH,1000\n"),
    )
    assert (row.cls, row.paid_amount, row.payment_ids) == (ReconClass.UNPAID, None, [pid])


def test_the_period_takes_the_payments_created_on_those_days_in_japan(
    runtime: Runtime, merchant: NewMerchant
):
    card_payment(runtime, merchant.merchant_id, "P-1", 1000, capture=True)
    today = business_date(runtime.core.clock.now())
    body = "取引ID,金額\nP-1,1000\n".encode()
    inside = run(runtime, merchant.merchant_id, body, period=(today, today))
    before = run(runtime, merchant.merchant_id, body, period=(None, today - timedelta(days=1)))
    assert [r.cls for r in _rows(runtime, merchant.merchant_id, inside)] == [ReconClass.MATCHED]
    assert [r.cls for r in _rows(runtime, merchant.merchant_id, before)] == [ReconClass.UNPAID]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("取引ID,金額\nA,100\nB,12.5\n", "3行目「金額」"),
        ("取引ID,金額\nA,100\n,200\n", "3行目「取引ID」"),
        ("取引ID,金額\nA,-5\n", "2行目「金額」"),
        ("取引ID,金額,入金予定日\nA,100,2026/13/01\n", "2行目「入金予定日」"),
        ("取引ID,金額\n" + "A" * 26 + ",100\n", "2行目「取引ID」"),
        ("注文,値段\nA,100\n", "取引IDと金額の列"),
        ("", "ファイルが空です"),
    ],
)
def test_a_bad_line_is_refused_by_number_and_column_and_nothing_is_stored(
    runtime: Runtime, merchant: NewMerchant, body: str, reason: str
):
    with pytest.raises(InvalidRequest) as refused:
        run(runtime, merchant.merchant_id, body.encode("cp932"))
    assert reason in refused.value.message
    with runtime.core.sessions() as session:
        kept = session.scalar(
            select(func.count()).where(Reconciliation.merchant_id == merchant.merchant_id)
        )
    assert kept == 0


def test_bytes_that_are_not_the_files_encoding_are_refused_with_their_line(
    runtime: Runtime, merchant: NewMerchant
):
    good = "".join(f"A{n},100\n" for n in range(10_000))  # past what the sniffer reads
    body = ("取引ID,金額\n" + good).encode() + "B,200\n".encode("cp932") + b"\x82\xa0\xff,300\n"
    with pytest.raises(InvalidRequest) as refused:
        run(runtime, merchant.merchant_id, body)
    assert "10003行目" in refused.value.message and "utf-8" in refused.value.message


def test_columns_named_otherwise_are_guessed_or_mapped(runtime: Runtime, merchant: NewMerchant):
    card_payment(runtime, merchant.merchant_id, "ORD-9", 3300, capture=True)
    guessed = run(runtime, merchant.merchant_id, '受注ID,請求額\nORD-9,"3,300"\n'.encode("cp932"))
    mapped = run(
        runtime,
        merchant.merchant_id,
        "伝票,税込\nORD-9,3300\n".encode(),
        columns=ColumnMap(trading_id="伝票", amount="税込"),
    )
    for rid in (guessed, mapped):
        assert [r.cls for r in _rows(runtime, merchant.merchant_id, rid)] == [ReconClass.MATCHED]


def test_another_merchants_reconciliation_and_payments_show_nothing(
    runtime: Runtime, merchant: NewMerchant
):
    other = make_merchant(runtime)
    card_payment(runtime, other.merchant_id, "SAME", 1000, capture=True)
    rid = run(runtime, merchant.merchant_id, "取引ID,金額\nSAME,1000\n".encode())
    assert [r.cls for r in _rows(runtime, merchant.merchant_id, rid)] == [ReconClass.UNPAID]
    with runtime.core.sessions() as session:
        with pytest.raises(NotFound):
            summary(session, merchant_id=other.merchant_id, reconciliation_id=rid)
        with pytest.raises(NotFound):
            rows(
                session,
                merchant_id=other.merchant_id,
                reconciliation_id=rid,
                cls=None,
                offset=0,
                limit=10,
            )
        assert history(session, merchant_id=other.merchant_id) == []


def test_the_same_file_again_gives_the_same_result(runtime: Runtime, merchant: NewMerchant):
    made = every_class(runtime, merchant.merchant_id)
    body = made.orders.encode("cp932")
    first, second = (run(runtime, merchant.merchant_id, body) for _ in range(2))
    with runtime.core.sessions() as session:
        one = summary(session, merchant_id=merchant.merchant_id, reconciliation_id=first)
        two = summary(session, merchant_id=merchant.merchant_id, reconciliation_id=second)
        assert [s.id for s in history(session, merchant_id=merchant.merchant_id)] == [second, first]
    assert one.sha256 == two.sha256 and one.totals == two.totals
    assert _rows(runtime, merchant.merchant_id, first) == _rows(
        runtime, merchant.merchant_id, second
    )


def test_rows_page_and_filter_by_class(runtime: Runtime, merchant: NewMerchant):
    made = every_class(runtime, merchant.merchant_id)
    rid = run(runtime, merchant.merchant_id, made.orders.encode())
    unpaid = _rows(runtime, merchant.merchant_id, rid, ReconClass.UNPAID)
    assert [r.trading_id for r in unpaid] == ["U-CVS", "U-NONE"]
    with runtime.core.sessions() as session:
        page = rows(
            session,
            merchant_id=merchant.merchant_id,
            reconciliation_id=rid,
            cls=None,
            offset=2,
            limit=3,
        )
    assert [r.order_line for r in page] == [4, 5, 6]


@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig"])
def test_the_classified_list_downloads_as_excel_opens_it(
    runtime: Runtime, merchant: NewMerchant, encoding: str
):
    made = every_class(runtime, merchant.merchant_id)
    rid = run(runtime, merchant.merchant_id, made.orders.encode())
    out = io.BytesIO()
    with runtime.core.sessions() as session:
        found = iter_rows(
            session, merchant_id=merchant.merchant_id, reconciliation_id=rid, cls=None
        )
        write_csv(found, out, encoding)
    body = out.getvalue()
    assert body.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    assert b"\r\n" in body
    lines = list(csv.DictReader(io.StringIO(body.decode(encoding))))
    assert len(lines) == 9
    by_tid = {line["取引ID"]: line for line in lines if line["区分コード"] != "duplicate_orders"}
    assert by_tid["D-1"]["区分"] == "金額相違" and by_tid["D-1"]["差額"] == "-100"
    assert by_tid["U-NONE"]["期限超過"] == "期限超過" and by_tid["U-NONE"]["決済方法"] == "銀行振込"
    assert by_tid["N-1"]["行番号"] == "" and by_tid["N-1"]["入金額"] == "700"
