"""The stored statements as the payouts' source: what is due on a payout date, each statement as
the value its PDF is drawn from, and marking a date's transfers paid in the ledger.

`stored_statements` is the `PayoutSource` the bank file reads by default: the statements closed
(`kessai.core.statements.close`) whose payout date is the date and whose payout is not zero (a
statement that carries everything forward is no transfer).

`record_transfers_sent` books a statement's payout as sent (PAYOUT_SENT: Dr merchant:M:payout /
Cr kessai:bank) once: the statements are locked (FOR UPDATE on PostgreSQL; SQLite has one writer),
and one that already has its PAYOUT_SENT entry is skipped, so a second run posts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.ledger.journal import EntryKind
from kessai.core.ledger.models import LedgerEntry
from kessai.core.ledger.postings import record_payout_sent
from kessai.core.payouts import statement as value
from kessai.core.payouts.transfers import PayoutDue
from kessai.core.statements.models import Statement, StatementLine
from kessai.core.statements.views import get_statement


def stored_statements(session: Session, payout_date: date) -> list[PayoutDue]:
    """The payouts of the statements paid on `payout_date` (a `PayoutSource`)."""
    rows = session.scalars(
        select(Statement)
        .where(Statement.payout_date == payout_date, Statement.payout_amount > 0)
        .order_by(Statement.merchant_id, Statement.id)
    )
    return [PayoutDue(s.merchant_id, s.payout_amount, str(s.id)) for s in rows]


@dataclass
class Marked:
    """What `record_transfers_sent` did: statements booked as sent now, and ones booked before."""

    posted: list[Statement] = field(default_factory=list)
    already: list[Statement] = field(default_factory=list)


def record_transfers_sent(
    session: Session, payout_date: date, statement_ids: Iterable[int], *, now: datetime
) -> Marked:
    """Book the payouts of `statement_ids` (statements paid on `payout_date`) as sent, each once."""
    ids = set(statement_ids)
    marked = Marked()
    if not ids:
        return marked
    statements = session.scalars(
        select(Statement)
        .where(
            Statement.id.in_(ids),
            Statement.payout_date == payout_date,
            Statement.payout_amount > 0,
        )
        .order_by(Statement.merchant_id, Statement.id)
        .with_for_update()
    ).all()
    sent = _already_sent(session, [s.id for s in statements])
    for s in statements:
        if s.id in sent:
            marked.already.append(s)
            continue
        record_payout_sent(
            session,
            merchant_id=s.merchant_id,
            statement_id=s.id,
            amount=s.payout_amount,
            on=payout_date,
            now=now,
        )
        marked.posted.append(s)
    return marked


def _already_sent(session: Session, statement_ids: list[int]) -> set[int]:
    if not statement_ids:
        return set()
    found = session.scalars(
        select(LedgerEntry.statement_id).where(
            LedgerEntry.statement_id.in_(statement_ids),
            LedgerEntry.kind == EntryKind.PAYOUT_SENT.value,
        )
    )
    return {sid for sid in found if sid is not None}


def statement_value(session: Session, statement_id: int) -> value.Statement:
    """The stored statement `statement_id` as the value its PDF is drawn from (NotFound if none)."""
    s = get_statement(session, statement_id)
    lines = session.scalars(
        select(StatementLine)
        .where(StatementLine.statement_id == s.id)
        .order_by(StatementLine.payment_type)
    )
    return value.Statement(
        statement_id=str(s.id),
        merchant_id=s.merchant_id,
        period_from=s.period_from or s.period_through,
        period_through=s.period_through,
        payout_date=s.payout_date,
        lines=tuple(
            value.StatementLine(line.payment_type, line.count, line.gross, line.refunds, line.fees)
            for line in lines
        ),
        fees_total=s.fees_total,
        tax=s.tax,
        adjustments=s.adjustments,
        carried_in=s.carried_in,
        payout_amount=s.payout_amount,
        carried_forward=s.carried_forward,
    )
