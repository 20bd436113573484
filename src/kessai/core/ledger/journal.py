"""`post`: the one function that writes journal entries.

An entry moves one positive amount from its credit account to its debit account, so it balances by
construction; `post` refuses anything else before the database would (amount > 0, two distinct,
well-formed accounts, a merchant account only on its own merchant's entry), and writes the entries
it is given inside the caller's transaction: one entry (a capture) is one INSERT, one round trip;
a few are one executemany of the same compiled INSERT; a batch of `COPY_FROM` or more (a close's
fees, thousands at a time) is one COPY on PostgreSQL — not a multi-row VALUES, whose SQL differs
with every row count and is compiled and parsed afresh each time. There is no update or delete
here: a correction is a new entry the other way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import insert
from sqlalchemy.orm import Session

from kessai.core.ledger import accounts
from kessai.core.ledger.models import LedgerEntry


class EntryKind(StrEnum):
    """The money event an entry records."""

    SALE = "sale"  # 売上 / 消込: a capture or a payment received for the merchant
    REFUND = "refund"  # 取消 / 返金: a sale given back (the same accounts, reversed)
    FEE = "fee"  # 決済手数料 on one sale (or returned on its refund)
    TRANSFER_FEE = "transfer_fee"  # 振込手数料, once per payout
    MONTHLY_FEE = "monthly_fee"  # 月額固定費
    TAX = "tax"  # 消費税 on a statement's fees, once per statement and rate
    ADJUSTMENT = "adjustment"  # an operator's correction between Kessai and the merchant
    PAYOUT = "payout"  # a statement's payout, due to the merchant on its payout date
    PAYOUT_SENT = "payout_sent"  # the payout left Kessai's bank (the bank file)
    RECEIPT = "receipt"  # an institution's remittance arrived in Kessai's bank (入金消込)
    CLAWBACK = "clawback"  # an institution kept back a refund from its remittance (返金の相殺)


class Entry(NamedTuple):
    """One entry (a tuple: a close builds a million of them, and a frozen dataclass's `__init__`
    cost a fifth of the close's Python time)."""

    kind: EntryKind
    debit: str
    credit: str
    amount: int
    event_date: date
    merchant_id: int | None = None
    payment_id: int | None = None
    payment_type: str = ""
    institution: str = ""
    statement_id: int | None = None


COPY_FROM = 500  # entries at once from which PostgreSQL gets them by COPY
_COPY_SQL = (
    "COPY ledger_entries (merchant_id, payment_id, payment_type, institution, kind, debit, "
    "credit, amount, event_date, statement_id, created_at) FROM STDIN"
)


class UnbalancedEntry(ValueError):
    """An entry that would not balance or names an account it may not."""


def post(session: Session, entries: Sequence[Entry], *, now: datetime) -> None:
    """Write `entries` in the caller's transaction (all or, with it, none); nothing for an empty
    list."""
    if not entries:
        return
    known: dict[str, accounts.Account | None] = {}  # a close's entries name a few accounts
    for entry in entries:
        _check(entry, known)
    if len(entries) >= COPY_FROM and session.get_bind().dialect.name == "postgresql":
        _copy(session, entries, now)
        return
    rows = [_row(entry, now) for entry in entries]
    if len(rows) == 1:
        session.execute(insert(LedgerEntry).values(rows[0]))
    else:
        session.execute(insert(LedgerEntry), rows)


def _copy(session: Session, entries: Sequence[Entry], now: datetime) -> None:
    """COPY the entries on the session's own connection, so in its transaction."""
    session.flush()  # the rows they refer to (a statement) are written first
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor() as cursor, cursor.copy(_COPY_SQL) as copy:
        for e in entries:
            copy.write_row(
                (e.merchant_id, e.payment_id, e.payment_type, e.institution, e.kind.value,
                 e.debit, e.credit, e.amount, e.event_date, e.statement_id, now)
            )  # fmt: skip


def check(entry: Entry) -> None:
    """UnbalancedEntry unless `entry` could be posted (for a caller writing it itself)."""
    _check(entry, {})


def _check(entry: Entry, known: dict[str, accounts.Account | None]) -> None:
    if type(entry.amount) is not int or entry.amount <= 0:
        raise UnbalancedEntry(f"{entry.kind}: amount must be a positive int, not {entry.amount!r}")
    if entry.debit == entry.credit:
        raise UnbalancedEntry(f"{entry.kind}: debit and credit are both {entry.debit}")
    for code in (entry.debit, entry.credit):
        if code not in known:
            known[code] = accounts.parse(code)
        account = known[code]
        if account is None:
            raise UnbalancedEntry(f"{entry.kind}: no such account {code!r}")
        if account.merchant_id is not None and account.merchant_id != entry.merchant_id:
            raise UnbalancedEntry(f"{entry.kind}: {code} is not merchant {entry.merchant_id}'s")


def _row(entry: Entry, now: datetime) -> dict[str, object]:
    return {
        "merchant_id": entry.merchant_id,
        "payment_id": entry.payment_id,
        "payment_type": entry.payment_type,
        "institution": entry.institution,
        "kind": entry.kind.value,
        "debit": entry.debit,
        "credit": entry.credit,
        "amount": entry.amount,
        "event_date": entry.event_date,
        "statement_id": entry.statement_id,
        "created_at": now,
    }
