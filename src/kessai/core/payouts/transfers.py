"""The payout transfers of one payout date: what is due (from a `PayoutSource`), to which account
(the merchants' payout settings), written as the Zengin bank file.

Where the amounts come from is a `PayoutSource`: a function answering "which merchants are due
how much on this date". The stored statements are the source by default
(`kessai.core.payouts.stored.stored_statements`); `statements_source` builds one over statements
already read from the close's JSON (`kessai payouts zengin --statements FILE`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.payouts.models import PayoutSettings
from kessai.core.payouts.settings import stored_account
from kessai.core.payouts.statement import Statement
from kessai.core.payouts.zengin import Payout, Requester, TransferFile, write_transfer_file
from kessai.kit.clock import is_business_day
from kessai.kit.errors import InvalidRequest


@dataclass(frozen=True, slots=True)
class PayoutDue:
    """An amount due to a merchant on a payout date, and the statement that says so."""

    merchant_id: int
    amount: int  # yen
    statement_id: str | None = None


PayoutSource = Callable[[Session, date], Sequence[PayoutDue]]


def statements_source(statements: Iterable[Statement]) -> PayoutSource:
    """A source over closed statements: each statement paid on the date with a payout amount
    (a statement that carries everything forward pays nothing and is no transfer)."""
    kept = list(statements)

    def due(_session: Session, payout_date: date) -> list[PayoutDue]:
        return [
            PayoutDue(s.merchant_id, s.payout_amount, s.statement_id)
            for s in kept
            if s.payout_date == payout_date and s.payout_amount != 0
        ]

    return due


def transfer_file(
    session: Session,
    payout_date: date,
    *,
    source: PayoutSource,
    requester: Requester,
    line_breaks: bool = True,
) -> TransferFile:
    """The bank file of `payout_date`'s payouts, each to its merchant's registered account; the
    payouts without a usable account come back held (`TransferFile.held`)."""
    check_transfer_date(payout_date)
    due = source(session, payout_date)
    accounts = payout_settings_of(session, {d.merchant_id for d in due})
    payouts = [
        Payout(d.merchant_id, d.amount, stored_account(accounts.get(d.merchant_id)), d.statement_id)
        for d in due
    ]
    return write_transfer_file(
        payouts, requester=requester, transfer_date=payout_date, line_breaks=line_breaks
    )


def check_transfer_date(payout_date: date) -> None:
    if not is_business_day(payout_date):
        raise InvalidRequest(
            field="date", message=f"{payout_date} is not a bank business day: banks transfer none"
        )


def payout_settings_of(session: Session, merchant_ids: set[int]) -> dict[int, PayoutSettings]:
    if not merchant_ids:
        return {}
    rows = session.scalars(
        select(PayoutSettings).where(PayoutSettings.merchant_id.in_(merchant_ids))
    )
    return {row.merchant_id: row for row in rows}
