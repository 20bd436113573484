"""A merchant with a closed payout statement: a captured card payment, closed through today."""

from __future__ import annotations

from dataclasses import dataclass

from kessai.app import Runtime
from kessai.core.ledger.postings import business_date
from kessai.core.statements.close import CloseTerms, close
from tests.support.console import card_payment

TERMS = CloseTerms(registration_number="T7000012050002", minimum_payout=1)


@dataclass(frozen=True)
class Closed:
    statement_id: int
    payment_id: int
    trading_id: str
    payout_date: str


def closed_statement(runtime: Runtime, merchant_id: int, trading_id: str, amount: int) -> Closed:
    """`trading_id` captured for `amount` yen, and the merchant's statement closed through today."""
    payment_id = card_payment(runtime, merchant_id, trading_id, amount, capture=True)
    now = runtime.core.clock.now()
    with runtime.core.sessions.begin() as session:
        statement = close(
            session, merchant_id=merchant_id, through=business_date(now), now=now, terms=TERMS
        )
        return Closed(statement.id, payment_id, trading_id, statement.payout_date.isoformat())
