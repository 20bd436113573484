"""Reading statements: as the CLI (`kessai settle close --json`) and the docs show them (yen as
integers), one merchant's own (the console: another merchant's reads exactly like a missing one),
and which statements a payment's money was closed on (reconciliation by trading ID)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.ledger.journal import EntryKind
from kessai.core.ledger.models import LedgerEntry
from kessai.core.statements.models import Statement, StatementLine
from kessai.kit.errors import NotFound


def get_statement(session: Session, statement_id: int) -> Statement:
    statement = session.get(Statement, statement_id)
    if statement is None:
        raise NotFound(message=f"statement {statement_id} does not exist")
    return statement


def merchant_statement(session: Session, merchant_id: int, statement_id: int) -> Statement:
    """`merchant_id`'s statement `statement_id`; another merchant's is NotFound, word for word
    what a statement that does not exist is."""
    statement = session.get(Statement, statement_id)
    if statement is None or statement.merchant_id != merchant_id:
        raise NotFound(message="指定された支払明細はありません。")
    return statement


@dataclass(frozen=True, slots=True)
class StatementRef:
    """The statement a payment's sale or refund was closed on."""

    statement_id: int
    number: int
    payout_date: date


def statements_of_payments(
    session: Session, merchant_id: int, payment_ids: Collection[int]
) -> dict[int, list[StatementRef]]:
    """Per payment of `merchant_id`, the statements its sales and refunds were closed on (oldest
    first); a payment not closed yet is absent."""
    if not payment_ids:
        return {}
    rows = session.execute(
        select(LedgerEntry.payment_id, Statement.id, Statement.number, Statement.payout_date)
        .join(Statement, Statement.id == LedgerEntry.statement_id)
        .where(
            LedgerEntry.merchant_id == merchant_id,
            Statement.merchant_id == merchant_id,
            LedgerEntry.payment_id.in_(list(payment_ids)),
            LedgerEntry.kind.in_([EntryKind.SALE.value, EntryKind.REFUND.value]),
        )
        .distinct()
        .order_by(Statement.id)
    )
    found: dict[int, list[StatementRef]] = defaultdict(list)
    for payment_id, sid, number, payout_date in rows:
        if payment_id is not None:
            found[payment_id].append(StatementRef(sid, number, payout_date))
    return dict(found)


def list_statements(session: Session, merchant_id: int) -> list[Statement]:
    """The merchant's statements, newest first."""
    return list(
        session.scalars(
            select(Statement)
            .where(Statement.merchant_id == merchant_id)
            .order_by(Statement.number.desc())
        )
    )


def statement_dict(session: Session, statement: Statement) -> dict[str, Any]:
    """The fixed contract of `kessai settle close --json`."""
    lines = session.scalars(
        select(StatementLine)
        .where(StatementLine.statement_id == statement.id)
        .order_by(StatementLine.payment_type)
    )
    return {
        "statement_id": statement.id,
        "merchant_id": statement.merchant_id,
        "period_from": statement.period_from.isoformat() if statement.period_from else None,
        "period_through": statement.period_through.isoformat(),
        "payout_date": statement.payout_date.isoformat(),
        "lines": [
            {
                "payment_type": line.payment_type,
                "count": line.count,
                "gross": line.gross,
                "refunds": line.refunds,
                "fees": line.fees,
            }
            for line in lines
        ],
        "fees_total": statement.fees_total,
        "tax": statement.tax,
        "adjustments": statement.adjustments,
        "carried_in": statement.carried_in,
        "payout_amount": statement.payout_amount,
        "carried_forward": statement.carried_forward,
    }


def payouts_sent(
    session: Session, merchant_id: int, statement_ids: Collection[int]
) -> dict[int, date]:
    """Per statement of `merchant_id`, the day its payout left Kessai's bank (`kessai payouts
    mark-paid`); a statement not paid out yet is absent."""
    if not statement_ids:
        return {}
    rows = session.execute(
        select(LedgerEntry.statement_id, LedgerEntry.event_date).where(
            LedgerEntry.merchant_id == merchant_id,
            LedgerEntry.statement_id.in_(list(statement_ids)),
            LedgerEntry.kind == EntryKind.PAYOUT_SENT.value,
        )
    )
    return {sid: on for sid, on in rows if sid is not None}
