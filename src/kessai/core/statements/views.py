"""A statement as the CLI (`kessai settle close --json`) and the docs show it: yen as integers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.statements.models import Statement, StatementLine
from kessai.kit.errors import NotFound


def get_statement(session: Session, statement_id: int) -> Statement:
    statement = session.get(Statement, statement_id)
    if statement is None:
        raise NotFound(message=f"statement {statement_id} does not exist")
    return statement


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
