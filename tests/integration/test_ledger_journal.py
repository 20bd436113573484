"""The journal: `post` is the one writer; entries balance by construction, and the database keeps
them append-only (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from kessai.app import Runtime
from kessai.core.ledger import accounts
from kessai.core.ledger.journal import Entry, EntryKind, UnbalancedEntry, post
from kessai.core.ledger.models import LedgerEntry
from tests.conftest import make_merchant

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
DAY = date(2026, 12, 4)


def _sale(merchant_id: int, amount: int) -> Entry:
    return Entry(
        kind=EntryKind.SALE,
        debit=accounts.receivable(merchant_id, "02", "ACQ1"),
        credit=accounts.payable(merchant_id),
        amount=amount,
        event_date=DAY,
        merchant_id=merchant_id,
        payment_type="02",
        institution="ACQ1",
    )


def _balances(runtime: Runtime, merchant_id: int) -> dict[str, int]:
    """Debit-positive balance of every account the merchant's entries touch."""
    balances: dict[str, int] = {}
    with runtime.core.sessions() as session:
        rows = session.execute(
            select(LedgerEntry.debit, LedgerEntry.credit, LedgerEntry.amount).where(
                LedgerEntry.merchant_id == merchant_id
            )
        )
        for debit, credit, amount in rows:
            balances[debit] = balances.get(debit, 0) + amount
            balances[credit] = balances.get(credit, 0) - amount
    return balances


ACCOUNT_KINDS = st.sampled_from(["receivable", "payable", "fees", "tax", "payout", "bank"])


def _code(kind: str, merchant_id: int) -> str:
    if kind == "bank":
        return accounts.BANK
    if kind == "receivable":
        return accounts.receivable(merchant_id, "03", "SEJ")
    return accounts.Account(accounts.AccountKind(kind), merchant_id).code


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    moves=st.lists(
        st.tuples(ACCOUNT_KINDS, ACCOUNT_KINDS, st.integers(min_value=-5, max_value=10**9)),
        max_size=12,
    )
)
def test_whatever_is_posted_the_accounts_sum_to_zero(runtime: Runtime, moves) -> None:
    merchant_id = make_merchant(runtime).merchant_id
    for debit_kind, credit_kind, amount in moves:
        entry = Entry(
            kind=EntryKind.ADJUSTMENT,
            debit=_code(debit_kind, merchant_id),
            credit=_code(credit_kind, merchant_id),
            amount=amount,
            event_date=DAY,
            merchant_id=merchant_id,
        )
        with runtime.core.sessions.begin() as session:
            try:
                post(session, [entry], now=NOW)
            except UnbalancedEntry:
                assert amount <= 0 or debit_kind == credit_kind
            else:
                assert amount > 0 and debit_kind != credit_kind
    assert sum(_balances(runtime, merchant_id).values()) == 0


def test_post_writes_every_entry_with_one_insert(runtime: Runtime) -> None:
    merchant_id = make_merchant(runtime).merchant_id
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    from sqlalchemy import event

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        with runtime.core.sessions.begin() as session:
            post(session, [_sale(merchant_id, 100), _sale(merchant_id, 200)], now=NOW)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    inserts = [s for s in statements if "ledger_entries" in s]
    assert len(inserts) == 1
    assert _balances(runtime, merchant_id)[accounts.payable(merchant_id)] == -300


def test_an_account_of_another_merchant_is_refused(runtime: Runtime) -> None:
    mine = make_merchant(runtime).merchant_id
    theirs = make_merchant(runtime).merchant_id
    entry = Entry(
        kind=EntryKind.SALE,
        debit=accounts.receivable(theirs, "02", "X"),
        credit=accounts.payable(mine),
        amount=1,
        event_date=DAY,
        merchant_id=mine,
    )
    with runtime.core.sessions.begin() as session, pytest.raises(UnbalancedEntry):
        post(session, [entry], now=NOW)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_entries SET amount = amount + 1 WHERE id = :id",
        "UPDATE ledger_entries SET credit = debit || 'x' WHERE id = :id",
        "UPDATE ledger_entries SET kind = 'fee', payment_type = '99' WHERE id = :id",
        "DELETE FROM ledger_entries WHERE id = :id",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_entry(runtime: Runtime, sql: str) -> None:
    merchant_id = make_merchant(runtime).merchant_id
    with runtime.core.sessions.begin() as session:
        post(session, [_sale(merchant_id, 500)], now=NOW)
    with runtime.core.sessions() as session:
        entry_id = session.scalar(
            select(LedgerEntry.id).where(LedgerEntry.merchant_id == merchant_id)
        )
    with pytest.raises(DBAPIError, match="append-only"), runtime.core.sessions.begin() as session:
        session.execute(text(sql), {"id": entry_id})
    with runtime.core.sessions() as session:
        assert (
            session.scalar(
                select(func.sum(LedgerEntry.amount)).where(LedgerEntry.merchant_id == merchant_id)
            )
            == 500
        )


def test_the_database_refuses_an_entry_that_does_not_balance(runtime: Runtime) -> None:
    merchant_id = make_merchant(runtime).merchant_id
    row = {
        "merchant_id": merchant_id,
        "payment_type": "",
        "institution": "",
        "kind": "adjustment",
        "debit": accounts.payable(merchant_id),
        "credit": accounts.fees(merchant_id),
        "amount": -1,
        "event_date": DAY,
        "created_at": NOW,
    }
    from sqlalchemy import insert

    with pytest.raises(DBAPIError), runtime.core.sessions.begin() as session:
        session.execute(insert(LedgerEntry).values(row))


def test_the_database_refuses_to_stamp_a_stamped_entry_again(runtime: Runtime) -> None:
    from tests.support.statements import closed_statement

    merchant_id = make_merchant(runtime).merchant_id
    closed = closed_statement(runtime, merchant_id, "RESTAMP1", 1_000)
    sql = text("UPDATE ledger_entries SET statement_id = :sid WHERE statement_id = :sid")
    with pytest.raises(DBAPIError, match="append-only"), runtime.core.sessions.begin() as session:
        session.execute(sql, {"sid": closed.statement_id})
