"""The 売掛金 view: payments issued and not paid yet by deadline (overdue ones marked), money paid
but not on a statement by expected payout date, statements whose payout is not sent — one
merchant's only, for users with the `reconcile` permission."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from kessai.core.console.permissions import Permission, Role
from kessai.core.payments.models import Payment
from kessai.core.payouts.calendar import period_of
from kessai.core.payouts.cycles import payout_cycle
from kessai.core.payouts.settings import set_payout_settings
from kessai.core.reconcile.receivables import receivables
from kessai.core.statements.models import Statement
from kessai.core.statements.payout_date import DEFAULT_CYCLE
from kessai.kit.clock import JST
from tests.conftest import make_merchant
from tests.support.console import card_payment, cvs_payment, make_user, merchant_ref, signed_in
from tests.support.money import card_refund
from tests.support.statements import closed_statement


def _login() -> str:
    return f"rv{uuid.uuid4().hex[:10]}"


def _owed(runtime, merchant_id: int):
    with runtime.core.sessions() as session:
        return receivables(session, merchant_id=merchant_id, now=runtime.core.clock.now())


def _due_day(runtime, payment_id: int) -> date:
    with runtime.core.sessions() as session:
        due_at = session.get(Payment, payment_id).due_at
    return due_at.astimezone(JST).date()


def test_unpaid_payments_by_deadline_with_the_overdue_ones_marked(runtime, merchant, clock):
    m = merchant.merchant_id
    late = cvs_payment(runtime, m, "RV-LATE", 2_000)
    clock.advance(timedelta(days=40))  # past its deadline, before the expiry job ran
    on_time = cvs_payment(runtime, m, "RV-ONTIME", 3_500)
    card_payment(runtime, m, "RV-CARD", 9_000)  # authorised card: not a later payment

    owed = _owed(runtime, m)

    assert [(d.day, d.count, d.amount, d.overdue_count) for d in owed.due_days] == [
        (_due_day(runtime, late), 1, 2_000, 1),
        (_due_day(runtime, on_time), 1, 3_500, 0),
    ]
    assert (owed.issued_count, owed.issued_amount) == (2, 5_500)
    assert (owed.overdue_count, owed.overdue_amount) == (1, 2_000)
    assert [(p.trading_id, p.overdue) for p in owed.open_payments] == [
        ("RV-LATE", True),
        ("RV-ONTIME", False),
    ]


def test_paid_money_by_expected_payout_date_and_statements_not_paid_out(runtime, merchant):
    m = merchant.merchant_id
    closed = closed_statement(runtime, m, "RV-CLOSED", 7_000)
    card_payment(runtime, m, "RV-SALE", 5_000, capture=True)
    refunded = card_payment(runtime, m, "RV-REFUNDED", 1_200, capture=True)
    card_refund(runtime, merchant_ref(runtime, m), refunded)

    owed = _owed(runtime, m)

    today = runtime.core.clock.now().astimezone(JST).date()
    [open_sales] = owed.open_sales
    assert open_sales.period == period_of(DEFAULT_CYCLE, today)  # no cycle: 月末締め翌月末払い
    assert (open_sales.sales, open_sales.refunds, open_sales.net) == (6_200, 1_200, 5_000)
    assert (open_sales.sales_count, open_sales.refunds_count) == (2, 1)
    assert not open_sales.close_due
    with runtime.core.sessions() as session:
        statement = session.get(Statement, closed.statement_id)
        expected = (statement.id, statement.payout_date, statement.payout_amount)
    assert [(p.statement_id, p.payout_date, p.amount) for p in owed.payouts_due] == [expected]
    assert owed.issued_count == 0


def test_the_merchants_own_cycle_gives_the_expected_payout_date(runtime, merchant, clock):
    m = merchant.merchant_id
    now = runtime.core.clock.now()
    with runtime.core.sessions.begin() as session:
        set_payout_settings(session, m, cycle="weekly", closing_day=7, payout_day=5, now=now)
    card_payment(runtime, m, "RV-WEEK", 4_000, capture=True)
    clock.advance(timedelta(days=8))  # the week closed; nobody ran the close

    [open_sales] = _owed(runtime, m).open_sales

    weekly = payout_cycle("weekly", 7, 5)
    assert open_sales.period == period_of(weekly, now.astimezone(JST).date())
    assert open_sales.close_due and open_sales.net == 4_000


def test_the_page_shows_one_merchants_money_to_users_with_the_permission(runtime, server, merchant):
    m = merchant.merchant_id
    stranger = make_merchant(runtime)
    cvs_payment(runtime, stranger.merchant_id, "RV-THEIRS", 4_321)
    cvs_payment(runtime, m, "RV-MINE", 1_234)
    clerk = make_user(runtime, m, _login(), permissions=frozenset({Permission.RECONCILE}))
    viewer = make_user(runtime, m, _login(), permissions=frozenset({Permission.VIEW}))

    page = signed_in(server, clerk).get("/console/receivables")
    refused = signed_in(server, viewer)

    assert page.status_code == 200
    assert 'id="issued-total">1件 1,234円' in page.text and "RV-MINE" in page.text
    assert "RV-THEIRS" not in page.text and "4,321" not in page.text
    assert 'href="/console/receivables"' in page.text  # the menu offers it
    assert refused.get("/console/receivables").status_code == 403
    assert 'href="/console/receivables"' not in refused.get("/console/dashboard").text


def test_an_admin_sees_the_menu_entries(runtime, server, merchant):
    admin = make_user(runtime, merchant.merchant_id, _login(), role=Role.ADMIN)
    menu = signed_in(server, admin).get("/console/dashboard").text
    assert 'href="/console/reconcile">消し込み' in menu
    assert 'href="/console/receivables">売掛金' in menu
