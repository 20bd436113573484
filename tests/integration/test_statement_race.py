"""A capture racing a statement close lands on exactly one statement — this one or the next —
and two runs of `mark-paid` racing each other book a payout sent once, on PostgreSQL, where they
run at once (SQLite serialises every writer)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from kessai.app import Runtime
from kessai.core.context import MerchantRef
from kessai.core.ledger.check import check
from kessai.core.ledger.models import LedgerEntry
from kessai.core.ledger.postings import business_date, record_adjustment
from kessai.core.merchants.commands import PayoutChange, update_merchant
from kessai.core.payments import repository
from kessai.core.payments.card import commands as card
from kessai.core.payments.refs import PaymentRef
from kessai.core.payments.settle import change_status
from kessai.core.payouts.stored import record_transfers_sent, write_bank_file
from kessai.core.payouts.zengin import Requester
from kessai.core.statements.close import CloseTerms, close
from kessai.core.statements.models import Statement, StatementLine
from tests.conftest import make_merchant, test_db_kind
from tests.support import money

pytestmark = pytest.mark.skipif(
    test_db_kind() != "postgresql", reason="real concurrency on PostgreSQL"
)
TERMS = CloseTerms("", minimum_payout=1)


def _close(runtime: Runtime, merchant_id: int) -> int:
    now = runtime.core.clock.now()
    with runtime.core.sessions.begin() as session:
        statement = close(
            session, merchant_id=merchant_id, through=business_date(now), now=now, terms=TERMS
        )
        return statement.id


def test_a_capture_uncommitted_during_the_close_lands_on_the_next_statement(runtime, clock):
    shop = make_merchant(runtime)
    merchant = MerchantRef(id=shop.merchant_id, mode="sandbox")
    pid = money.card_payment(runtime, merchant, 5000, capture=False)
    money.card_payment(runtime, merchant, 1000, capture=True)
    capture = runtime.core.sessions()
    capture.begin()
    payment = repository.lock_payment(capture, pid)  # the capture's transaction 2, still open
    payment.captured_at = runtime.core.clock.now()
    change_status(capture, payment, "40", operation="capture", now=runtime.core.clock.now())
    capture.flush()
    closed = []
    closer = threading.Thread(target=lambda: closed.append(_close(runtime, shop.merchant_id)))
    closer.start()
    closer.join(timeout=30)
    assert not closer.is_alive(), "the close waited for a capture's transaction"
    capture.commit()
    capture.close()
    clock.advance(timedelta(days=1))
    later = _close(runtime, shop.merchant_id)
    with runtime.core.sessions() as session:
        sale = session.scalars(
            select(LedgerEntry).where(LedgerEntry.payment_id == pid, LedgerEntry.kind == "sale")
        ).one()
        assert sale.statement_id == later != closed[0]
        assert check(session, merchant_id=shop.merchant_id).ok


def test_captures_racing_closes_are_each_counted_once(runtime, clock):
    shop = make_merchant(runtime)
    merchant = MerchantRef(id=shop.merchant_id, mode="sandbox")
    pids = [money.card_payment(runtime, merchant, 100 + i, capture=False) for i in range(24)]
    errors: list[BaseException] = []

    def capture_all() -> None:
        for pid in pids:
            try:
                assert card.capture(runtime.core, merchant, PaymentRef(payment_id=str(pid))).ok
            except BaseException as error:  # reported by the main thread
                errors.append(error)

    statements: list[int] = []

    def close_repeatedly() -> None:
        for _ in range(6):
            statements.append(_close(runtime, shop.merchant_id))
            clock.advance(timedelta(days=1))

    threads = [threading.Thread(target=capture_all), threading.Thread(target=close_repeatedly)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    clock.advance(timedelta(days=1))
    _close(runtime, shop.merchant_id)
    with runtime.core.sessions() as session:
        lines = session.scalars(
            select(StatementLine)
            .join(Statement, Statement.id == StatementLine.statement_id)
            .where(Statement.merchant_id == shop.merchant_id)
        ).all()
        assert sum(line.count for line in lines) == len(pids)
        assert sum(line.gross for line in lines) == sum(100 + i for i in range(24))
        open_sales = session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.merchant_id == shop.merchant_id, LedgerEntry.statement_id.is_(None)
            )
        ).all()
        assert open_sales == []
        report = check(session, merchant_id=shop.merchant_id)
        assert report.ok, report.failures


def test_two_mark_paid_runs_at_once_book_the_payout_sent_once(runtime):
    shop = make_merchant(runtime)
    now = runtime.core.clock.now()
    with runtime.core.sessions.begin() as session:
        record_adjustment(
            session, merchant_id=shop.merchant_id, amount=3_000, on=business_date(now), now=now
        )
    statement_id = _close(runtime, shop.merchant_id)
    operator = Requester("1234567890", "ｹｯｻｲ", "0001", "ﾐｽﾞﾎ", "001", "ﾄｳｷﾖｳ", "1", "0000001")
    account = PayoutChange(bank_account="0001-001-1-1234567", account_holder="ヤマダ　タロウ")
    with runtime.core.sessions.begin() as session:
        pay_day = session.get(Statement, statement_id).payout_date
        update_merchant(session, shop.merchant_id, now=now, payout=account)
        assert write_bank_file(session, pay_day, requester=operator, now=now).transferred
    first = runtime.core.sessions()
    first.begin()
    assert [s.id for s in record_transfers_sent(first, pay_day, [statement_id], now=now).posted]
    second: list[tuple[list[int], list[int]]] = []

    def mark_again() -> None:
        with runtime.core.sessions.begin() as session:
            marked = record_transfers_sent(session, pay_day, [statement_id], now=now)
            second.append(([s.id for s in marked.posted], [s.id for s in marked.already]))

    racer = threading.Thread(target=mark_again)
    racer.start()
    racer.join(timeout=1)
    assert racer.is_alive(), "the second run did not wait for the first one's lock"
    first.commit()
    first.close()
    racer.join(timeout=30)
    assert second == [([], [statement_id])]
    with runtime.core.sessions() as session:
        sent = session.scalars(
            select(LedgerEntry.amount).where(
                LedgerEntry.statement_id == statement_id, LedgerEntry.kind == "payout_sent"
            )
        ).all()
        assert sent == [3_000]
        assert check(session, merchant_id=shop.merchant_id).ok
