"""The stored statements as the payouts' source: what is due on a payout date, the bank file of a
date as written (and recorded), each statement as the value its PDF is drawn from, and marking a
date's transfers paid in the ledger.

`stored_statements` is a `PayoutSource`: the statements closed (`kessai.core.statements.close`)
whose payout date is the date and whose payout is not zero (a statement that carries everything
forward is no transfer).

`write_bank_file` is what `kessai payouts zengin` writes: the payouts a file of the date wrote
before (as they were written), then every payout due by the date that no file has written and
that is not booked sent — the date's own and those held before (no usable account then) — each to
its merchant's account now. Each payout written is recorded (`PayoutTransfer`, one per statement):
a payout goes into one file only, and a held one into the first file written after its account is
fixed.

`record_transfers_sent` books the payouts a date's file wrote as sent (PAYOUT_SENT: Dr
merchant:M:payout / Cr kessai:bank) once, with the amounts the file carried: the statements are
locked (FOR UPDATE on PostgreSQL; SQLite has one writer), and one that already has its PAYOUT_SENT
entry is skipped, so a second run posts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from kessai.core.ledger.journal import EntryKind
from kessai.core.ledger.models import LedgerEntry
from kessai.core.ledger.postings import record_payout_sent
from kessai.core.payouts import statement as value
from kessai.core.payouts.accounts import BankAccount
from kessai.core.payouts.models import PayoutTransfer
from kessai.core.payouts.settings import stored_account
from kessai.core.payouts.transfers import PayoutDue, check_transfer_date, payout_settings_of
from kessai.core.payouts.zengin import (
    HeldPayout,
    Payout,
    Requester,
    TransferFile,
    hold_reason,
    write_transfer_file,
)
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


def write_bank_file(
    session: Session,
    payout_date: date,
    *,
    requester: Requester,
    now: datetime,
    line_breaks: bool = True,
) -> TransferFile:
    """The bank file of `payout_date`, recorded: what its files wrote before, then every payout
    due by then that no file has written (held ones come back in `held` and stay unwritten)."""
    check_transfer_date(payout_date)
    before = session.scalars(
        select(PayoutTransfer)
        .where(PayoutTransfer.transfer_date == payout_date)
        .order_by(PayoutTransfer.merchant_id, PayoutTransfer.statement_id)
    ).all()
    pending = unwritten_payouts(session, payout_date, lock=True)
    payouts = [_as_written(row) for row in before] + pending
    written = write_transfer_file(
        payouts, requester=requester, transfer_date=payout_date, line_breaks=line_breaks
    )
    new = {p.statement_id for p in pending}
    session.add_all(
        _record(p, payout_date, now) for p in written.transferred if p.statement_id in new
    )
    session.flush()
    return written


def unwritten_payouts(session: Session, payout_date: date, *, lock: bool = False) -> list[Payout]:
    """The payouts due on or before `payout_date` that no bank file has written and that are not
    booked sent, each to its merchant's account now."""
    query = (
        select(Statement)
        .where(
            Statement.payout_date <= payout_date,
            Statement.payout_amount > 0,
            ~exists().where(PayoutTransfer.statement_id == Statement.id),
            ~exists().where(
                LedgerEntry.statement_id == Statement.id,
                LedgerEntry.kind == EntryKind.PAYOUT_SENT.value,
            ),
        )
        .order_by(Statement.merchant_id, Statement.id)
    )
    statements = session.scalars(query.with_for_update() if lock else query).all()
    settings = payout_settings_of(session, {s.merchant_id for s in statements})
    return [
        Payout(
            s.merchant_id, s.payout_amount, stored_account(settings.get(s.merchant_id)), str(s.id)
        )
        for s in statements
    ]


def not_written(session: Session, payout_date: date) -> list[HeldPayout]:
    """What no file has written by `payout_date` yet, and why: an account still unusable, or
    a file of that date not written since the account was fixed."""
    held = []
    for payout in unwritten_payouts(session, payout_date):
        reason = (
            hold_reason(payout)
            or f"not in a bank file yet (kessai payouts zengin --date {payout_date})"
        )
        held.append(HeldPayout(payout, reason))
    return held


def _as_written(row: PayoutTransfer) -> Payout:
    account = BankAccount(
        bank_code=row.bank_code,
        bank_name=row.bank_name,
        branch_code=row.branch_code,
        branch_name=row.branch_name,
        account_type=row.account_type,
        account_number=row.account_number,
        holder=row.account_holder,
    )
    return Payout(row.merchant_id, row.amount, account, str(row.statement_id))


def _record(payout: Payout, payout_date: date, now: datetime) -> PayoutTransfer:
    account = payout.account
    assert account is not None and payout.statement_id is not None  # written: hold_reason passed
    return PayoutTransfer(
        statement_id=int(payout.statement_id),
        merchant_id=payout.merchant_id,
        transfer_date=payout_date,
        amount=payout.amount,
        bank_code=account.bank_code,
        bank_name=account.bank_name,
        branch_code=account.branch_code,
        branch_name=account.branch_name,
        account_type=account.account_type,
        account_number=account.account_number,
        account_holder=account.holder,
        written_at=now,
    )


@dataclass
class Marked:
    """What `record_transfers_sent` did: statements booked as sent now, and ones booked before."""

    posted: list[Statement] = field(default_factory=list)
    already: list[Statement] = field(default_factory=list)


def record_transfers_sent(
    session: Session,
    payout_date: date,
    statement_ids: Iterable[int] | None = None,
    *,
    now: datetime,
) -> Marked:
    """Book the payouts `payout_date`'s bank file wrote (those of them in `statement_ids`, when
    given) as sent, each once, with the amount the file carried."""
    query = (
        select(Statement, PayoutTransfer.amount)
        .join(PayoutTransfer, PayoutTransfer.statement_id == Statement.id)
        .where(PayoutTransfer.transfer_date == payout_date)
        .order_by(Statement.merchant_id, Statement.id)
        .with_for_update(of=Statement)
    )
    if statement_ids is not None:
        query = query.where(Statement.id.in_(set(statement_ids)))
    rows = session.execute(query).all()
    sent = _already_sent(session, [s.id for s, _ in rows])
    marked = Marked()
    for s, amount in rows:
        if s.id in sent:
            marked.already.append(s)
            continue
        record_payout_sent(
            session, merchant_id=s.merchant_id, statement_id=s.id, amount=amount,
            on=payout_date, now=now,
        )  # fmt: skip
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
