"""Closing statements (支払明細): lines, fees, tax once, transfer and monthly fees, carried balances,
immutability, one transaction, and the detail CSV adding up to the statement to the yen."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kessai.app import Runtime
from kessai.core.context import MerchantRef
from kessai.core.ledger.check import check
from kessai.core.ledger.models import LedgerEntry
from kessai.core.ledger.postings import business_date
from kessai.core.merchants.commands import PayoutChange, update_merchant
from kessai.core.statements import close as closing
from kessai.core.statements.close import CloseTerms, close
from kessai.core.statements.detail import detail_csv
from kessai.core.statements.fees import set_fee, set_payout_fees
from kessai.core.statements.models import Statement
from kessai.core.statements.payout_date import payout_date_for
from kessai.core.statements.views import statement_dict
from kessai.kit.errors import InvalidRequest
from tests.conftest import TestClock, make_merchant
from tests.support import money
from tests.support.paid_later import ref

TERMS = CloseTerms(registration_number="T7000012050002", minimum_payout=1)


def _today(runtime: Runtime) -> date:
    return business_date(runtime.core.clock.now())


def _fees(runtime: Runtime, merchant_id: int, *, on: date, **payout: int) -> None:
    now = runtime.core.clock.now()
    with runtime.core.sessions.begin() as session:
        set_fee(session, merchant_id, "02", rate_bp=325, fixed=10, effective_from=on, now=now)
        set_fee(session, merchant_id, "03", rate_bp=0, fixed=150, effective_from=on, now=now)
        if payout:
            set_payout_fees(
                session,
                merchant_id,
                transfer_fee=payout.get("transfer_fee"),
                monthly_fee=payout.get("monthly_fee"),
                effective_from=on,
                now=now,
            )


def _close(runtime: Runtime, merchant_id: int, through: date, terms: CloseTerms = TERMS) -> dict:
    with runtime.core.sessions.begin() as session:
        statement = close(
            session,
            merchant_id=merchant_id,
            through=through,
            now=runtime.core.clock.now(),
            terms=terms,
        )
        return statement_dict(session, statement)


def _csv_sums(runtime: Runtime, statement_id: int, encoding: str = "cp932") -> dict[str, int]:
    with runtime.core.sessions() as session:
        body = detail_csv(session, session.get(Statement, statement_id), encoding=encoding)
    text = body.decode("cp932" if encoding == "cp932" else "utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    return {
        column: sum(int(r[column]) for r in rows)
        for column in ("売上金額", "取消金額", "手数料", "消費税")
    } | {"payments": sum(1 for r in rows if r["決済ID"])}


def _assert_checks(runtime: Runtime, merchant_id: int) -> None:
    with runtime.core.sessions() as session:
        report = check(session, merchant_id=merchant_id)
    assert report.ok, report.failures


def _shop(runtime: Runtime) -> MerchantRef:
    return ref(make_merchant(runtime))


def test_a_close_sums_sales_fees_tax_and_pays_the_rest(runtime):
    shop = _shop(runtime)
    today = _today(runtime)
    _fees(runtime, shop.id, on=today - timedelta(days=1), transfer_fee=250, monthly_fee=1000)
    money.card_payment(runtime, shop, 10_000, capture=True)  # fee 325 + 10
    refunded = money.card_payment(runtime, shop, 4_000, capture=True)  # fee 130 + 10
    money.card_refund(runtime, shop, refunded)  # gives back 130
    money.cvs_paid(runtime, shop, 3_000)  # fee 150
    money.atm_paid(runtime, shop, 2_000)  # no schedule: no fee
    shown = _close(runtime, shop.id, today)
    assert shown["lines"] == [
        {"payment_type": "01", "count": 1, "gross": 2000, "refunds": 0, "fees": 0},
        {"payment_type": "02", "count": 2, "gross": 14000, "refunds": 4000, "fees": 345},
        {"payment_type": "03", "count": 1, "gross": 3000, "refunds": 0, "fees": 150},
    ]
    assert shown["fees_total"] == 345 + 150 + 250 + 1000
    assert shown["tax"] == 174  # 10 % of 1745, once, rounded down
    assert shown["carried_in"] == 0 and shown["adjustments"] == 0
    assert shown["payout_amount"] == 19000 - 4000 - 1745 - 174
    assert shown["carried_forward"] == 0
    assert shown["payout_date"] == payout_date_for(None, today).isoformat()  # no cycle set
    assert shown["period_through"] == today.isoformat()
    assert money.payable(runtime, shop.id) == 0
    for encoding in ("cp932", "utf-8"):
        assert _csv_sums(runtime, shown["statement_id"], encoding) == {
            "売上金額": 19000,
            "取消金額": 4000,
            "手数料": shown["fees_total"],
            "消費税": shown["tax"],
            "payments": 4,
        }
    _assert_checks(runtime, shop.id)


def _last_sunday(day: date) -> date:
    return day - timedelta(days=day.isoweekday() % 7)


def test_a_merchant_with_a_cycle_closes_on_its_closing_days_and_is_paid_on_its_calendar(runtime):
    shop = _shop(runtime)
    with runtime.core.sessions.begin() as session:
        change = PayoutChange(cycle="weekly")  # 日曜締め金曜払い
        update_merchant(session, shop.id, now=runtime.core.clock.now(), payout=change)
    money.card_payment(runtime, shop, 5_000, capture=True)
    sunday = _last_sunday(_today(runtime))
    saturday = sunday - timedelta(days=1)
    with pytest.raises(InvalidRequest, match=f"not a closing day.*next one is {sunday}"):
        _close(runtime, shop.id, saturday)
    shown = _close(runtime, shop.id, sunday)
    friday = sunday + timedelta(days=5)
    assert shown["period_through"] == sunday.isoformat()
    assert date.fromisoformat(shown["payout_date"]) in {
        friday - timedelta(days=n) for n in range(4)
    }
    _assert_checks(runtime, shop.id)


def test_every_event_lands_on_one_statement_and_later_ones_on_the_next(runtime, clock: TestClock):
    shop = _shop(runtime)
    today = _today(runtime)
    money.card_payment(runtime, shop, 1000, capture=True)
    first = _close(runtime, shop.id, today)
    money.card_payment(runtime, shop, 2000, capture=True)  # today still, after the close
    clock.advance(timedelta(days=1))
    money.card_payment(runtime, shop, 4000, capture=True)  # tomorrow
    with pytest.raises(InvalidRequest):
        _close(runtime, shop.id, today)
    second = _close(runtime, shop.id, today + timedelta(days=1))
    assert (first["payout_amount"], second["payout_amount"]) == (1000, 6000)
    assert second["period_from"] == (today + timedelta(days=1)).isoformat()
    with runtime.core.sessions() as session:
        open_entries = session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.merchant_id == shop.id, LedgerEntry.statement_id.is_(None)
            )
        ).all()
    assert open_entries == []
    _assert_checks(runtime, shop.id)


def test_a_negative_balance_is_carried_forward_with_no_transfer_fee(runtime, clock: TestClock):
    shop = _shop(runtime)
    today = _today(runtime)
    _fees(runtime, shop.id, on=today - timedelta(days=1), transfer_fee=250)
    pid = money.card_payment(runtime, shop, 10_000, capture=True)
    first = _close(runtime, shop.id, today)
    assert first["payout_amount"] == 10_000 - 335 - 250 - 58
    clock.advance(timedelta(days=1))
    money.card_refund(runtime, shop, pid)  # refunded after it was paid out
    second = _close(runtime, shop.id, today + timedelta(days=1))
    assert second["lines"][0]["refunds"] == 10_000
    assert second["lines"][0]["fees"] == -325  # the rate part comes back, the fixed 10 does not
    assert second["fees_total"] == -325 and second["tax"] == -32
    assert (second["payout_amount"], second["carried_forward"]) == (0, -10_000 + 325 + 32)
    clock.advance(timedelta(days=1))
    money.card_payment(runtime, shop, 20_000, capture=True)
    third = _close(runtime, shop.id, today + timedelta(days=2))
    assert third["carried_in"] == second["carried_forward"]
    assert third["payout_amount"] == 20_000 - 660 - 250 - 91 + second["carried_forward"]
    _assert_checks(runtime, shop.id)


def test_a_balance_under_the_minimum_payout_is_carried_forward(runtime):
    shop = _shop(runtime)
    money.card_payment(runtime, shop, 900, capture=True)
    shown = _close(runtime, shop.id, _today(runtime), CloseTerms("", minimum_payout=1000))
    assert (shown["payout_amount"], shown["carried_forward"]) == (0, 900)
    _assert_checks(runtime, shop.id)


def test_the_monthly_fee_is_charged_once_a_month(runtime, clock: TestClock):
    shop = _shop(runtime)
    today = _today(runtime)
    _fees(runtime, shop.id, on=today - timedelta(days=1), monthly_fee=1000)
    money.card_payment(runtime, shop, 50_000, capture=True)
    first = _close(runtime, shop.id, today)
    clock.advance(timedelta(days=1))
    money.card_payment(runtime, shop, 50_000, capture=True)
    second = _close(runtime, shop.id, today + timedelta(days=1))
    charged = [s["fees_total"] - s["lines"][0]["fees"] for s in (first, second)]
    same_month = (today + timedelta(days=1)).month == today.month
    assert charged == ([1000, 0] if same_month else [1000, 1000])


def test_a_fee_change_after_a_close_leaves_the_closed_statement_as_it_was(runtime, clock):
    shop = _shop(runtime)
    today = _today(runtime)
    _fees(runtime, shop.id, on=today - timedelta(days=1))
    money.card_payment(runtime, shop, 10_000, capture=True)
    first = _close(runtime, shop.id, today)
    with runtime.core.sessions.begin() as session:
        set_fee(session, shop.id, "02", rate_bp=500, fixed=0, effective_from=today,
                now=runtime.core.clock.now())  # fmt: skip
    with runtime.core.sessions() as session:
        again = statement_dict(session, session.get(Statement, first["statement_id"]))
    assert again == first
    assert first["lines"][0]["fees"] == 335
    _assert_checks(runtime, shop.id)


def test_a_close_that_fails_leaves_nothing_closed(runtime, monkeypatch):
    shop = _shop(runtime)
    money.card_payment(runtime, shop, 1000, capture=True)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(closing, "_closing_entries", crash)
    with pytest.raises(RuntimeError):
        _close(runtime, shop.id, _today(runtime))
    with runtime.core.sessions() as session:
        assert (
            session.scalars(select(Statement).where(Statement.merchant_id == shop.id)).all() == []
        )
    assert [e.statement_id for e in money.entries(runtime, shop.id)] == [None]
    monkeypatch.undo()
    assert _close(runtime, shop.id, _today(runtime))["payout_amount"] == 1000


def test_adjustments_payouts_sent_and_receipts_keep_the_ledger_whole(runtime):
    from kessai.core.ledger import postings

    shop = _shop(runtime)
    today, now = _today(runtime), runtime.core.clock.now()
    money.card_payment(runtime, shop, 10_000, capture=True)
    with runtime.core.sessions.begin() as session:
        postings.record_adjustment(session, merchant_id=shop.id, amount=500, on=today, now=now)
        postings.record_adjustment(session, merchant_id=shop.id, amount=-200, on=today, now=now)
    shown = _close(runtime, shop.id, today)
    assert shown["adjustments"] == 300
    assert shown["payout_amount"] == 10_300
    (sale,) = [e for e in money.entries(runtime, shop.id) if e.kind == "sale"]
    with runtime.core.sessions.begin() as session:
        postings.record_payout_sent(
            session, merchant_id=shop.id, statement_id=shown["statement_id"], amount=10_300,
            on=today, now=now,
        )  # fmt: skip
        postings.record_institution_receipt(
            session, merchant_id=shop.id, payment_type="02", institution=sale.institution,
            amount=10_000, received_on=today, now=now,
        )  # fmt: skip
    balances: dict[str, int] = {}
    for e in money.entries(runtime, shop.id):
        balances[e.debit] = balances.get(e.debit, 0) + e.amount
        balances[e.credit] = balances.get(e.credit, 0) - e.amount
    assert balances[sale.debit] == 0  # the acquirer paid what it owed
    assert balances[f"merchant:{shop.id}:payout"] == 0  # the payout left
    assert balances["kessai:bank"] == 10_000 - 10_300
    _assert_checks(runtime, shop.id)


def test_a_period_past_two_billion_yen_closes_and_is_booked_whole(runtime):
    # 32-bit columns stopped at 2,147,483,647 yen; a large merchant's month passes that.
    shop = _shop(runtime)
    today = _today(runtime)
    for _ in range(2):
        money.banknet_paid(runtime, shop, 2_000_000_000)
    shown = _close(runtime, shop.id, today)
    assert [(line["payment_type"], line["gross"]) for line in shown["lines"]] == [
        ("05", 4_000_000_000)
    ]
    assert shown["payout_amount"] == 4_000_000_000  # no fee schedule for bank net here
    with runtime.core.sessions() as session:
        booked = session.scalars(
            select(LedgerEntry.amount).where(
                LedgerEntry.merchant_id == shop.id, LedgerEntry.kind == "payout"
            )
        ).all()
    assert booked == [4_000_000_000]
    assert _csv_sums(runtime, shown["statement_id"])["売上金額"] == 4_000_000_000
    _assert_checks(runtime, shop.id)
