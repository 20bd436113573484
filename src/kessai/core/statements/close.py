"""Closing a statement (支払明細の締め): one merchant's settled money events through a date become a
numbered, immutable statement, in one transaction — a crash leaves all of it or none.

1. The merchant's row is locked (PostgreSQL, FOR NO KEY UPDATE; SQLite's writer is single): two
   closes of one merchant take turns, so numbers and carried balances follow each other, while
   captures (whose foreign key only takes FOR KEY SHARE) neither wait for the close nor hold it.
2. The statement row is written, then its events are claimed with one
   `UPDATE ledger_entries SET statement_id = … WHERE statement_id IS NULL AND event_date <= …`.
   A capture committing while the close runs is either seen by that UPDATE (this statement) or
   not (it stays NULL: the next one) — never both, never neither. Captures take no lock the close
   waits for.
3. The claimed events are read back in one streamed query (a server-side cursor on PostgreSQL,
   `CHUNK` rows at a time, with each card's brand and each refund's sale date joined in), so a
   close of a million payments holds one chunk in memory, not the million. Each event is priced
   from the fee history (fees.py); the per-method lines are summed as the chunks go by, and each
   chunk's fee entries are posted before the next chunk is read. Then the transfer fee, monthly
   fee, the consumption tax (once, on the statement's fees) and the payout are posted, all as
   entries already stamped with the statement.
4. The payout date is the merchant's cycle's (`payout_date.py`; a cycle closes only on its
   closing days, checked before anything is written).
5. A balance below the minimum payout (or negative) is not paid: it is carried forward, and no
   transfer fee is charged for a transfer that does not happen.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, case, func, select, update
from sqlalchemy.orm import Session, aliased

from kessai.core.ledger import accounts
from kessai.core.ledger.journal import Entry, EntryKind, post
from kessai.core.ledger.models import LedgerEntry
from kessai.core.ledger.postings import business_date
from kessai.core.merchants.models import Merchant
from kessai.core.payments.models import Payment
from kessai.core.payouts.settings import payout_settings, stored_cycle
from kessai.core.statements.fees import CARD, FeeBook
from kessai.core.statements.models import Statement, StatementLine
from kessai.core.statements.payout_date import payout_date_for
from kessai.kit.errors import InvalidRequest, NotFound
from kessai.kit.money import consumption_tax

TAX_RATE_PERCENT = 10  # 標準税率; fees are not reduced-rate items
CLOSED_KINDS = (EntryKind.SALE, EntryKind.REFUND, EntryKind.ADJUSTMENT)
CHUNK = 5_000  # events read, priced and their fee entries posted at a time


@dataclass(frozen=True, slots=True)
class CloseTerms:
    registration_number: str  # "" when the operator has none (not a qualified invoice)
    minimum_payout: int


@dataclass
class _Line:
    count: int = 0
    gross: int = 0
    refunds: int = 0
    fees: int = 0


def close(
    session: Session, *, merchant_id: int, through: date, now: datetime, terms: CloseTerms
) -> Statement:
    """Close `merchant_id`'s open money events dated `through` or earlier into a new statement."""
    merchant = _lock_merchant(session, merchant_id)
    today = business_date(now + timedelta(seconds=merchant.clock_offset_seconds))
    if through > today:  # a later close could never follow one through the future
        raise InvalidRequest(message=f"--through {through} is after today ({today}) in Japan")
    payout_on = payout_date_for(stored_cycle(payout_settings(session, merchant_id)), through)
    previous = _last_statement(session, merchant_id)
    if previous is not None and through <= previous.period_through:
        raise InvalidRequest(
            message=f"merchant {merchant_id} is closed through {previous.period_through} "
            f"(statement {previous.id}); close a later date"
        )
    statement = _open_statement(session, merchant, previous, through, payout_on, now, terms)
    _claim(session, merchant_id, through, statement.id)
    book = FeeBook.load(session, merchant_id)
    tally = _price(session, book, statement, now)
    if previous is None and tally.first_day is not None:
        statement.period_from = min(statement.period_from or through, tally.first_day)
    post(session, _settle_balance(statement, book, previous, tally, terms), now=now)
    session.add_all(
        StatementLine(statement_id=statement.id, payment_type=t, count=line.count,
                      gross=line.gross, refunds=line.refunds, fees=line.fees)
        for t, line in sorted(tally.lines.items())
    )  # fmt: skip
    session.flush()
    return statement


def _lock_merchant(session: Session, merchant_id: int) -> Merchant:
    """Closes of one merchant take turns. FOR NO KEY UPDATE, not FOR UPDATE: a capture's entry
    takes FOR KEY SHARE on the merchant row (its foreign key), which FOR UPDATE would wait for —
    and block every capture of the merchant while the close runs."""
    query = select(Merchant).where(Merchant.id == merchant_id).with_for_update(key_share=True)
    merchant = session.scalar(query)
    if merchant is None:
        raise NotFound(message=f"merchant {merchant_id} does not exist (see: kessai merchant list)")
    return merchant


def _last_statement(session: Session, merchant_id: int) -> Statement | None:
    return session.scalar(
        select(Statement)
        .where(Statement.merchant_id == merchant_id)
        .order_by(Statement.number.desc())
        .limit(1)
    )


def _open_statement(
    session: Session,
    merchant: Merchant,
    previous: Statement | None,
    through: date,
    payout_on: date,
    now: datetime,
    terms: CloseTerms,
) -> Statement:
    """The statement row, its figures still 0 (filled before the same transaction commits)."""
    if previous is None:
        period_from = min(business_date(merchant.created_at), through)
    else:
        period_from = previous.period_through + timedelta(days=1)
    statement = Statement(
        merchant_id=merchant.id,
        number=previous.number + 1 if previous else 1,
        period_from=period_from,
        period_through=through,
        payout_date=payout_on,
        fees_total=0,
        transfer_fee=0,
        monthly_fee=0,
        tax_rate_percent=TAX_RATE_PERCENT,
        tax=0,
        adjustments=0,
        carried_in=previous.carried_forward if previous else 0,
        payout_amount=0,
        carried_forward=0,
        registration_number=terms.registration_number,
        closed_at=now,
    )
    session.add(statement)
    session.flush()
    return statement


def _claim(session: Session, merchant_id: int, through: date, statement_id: int) -> None:
    """Stamp the merchant's open events through `through` with the statement: one UPDATE, whose
    WHERE statement_id IS NULL makes an event land on exactly one statement."""
    session.execute(
        update(LedgerEntry)
        .where(
            LedgerEntry.merchant_id == merchant_id,
            LedgerEntry.statement_id.is_(None),
            LedgerEntry.event_date <= through,
            LedgerEntry.kind.in_([k.value for k in CLOSED_KINDS]),
        )
        .values(statement_id=statement_id),
        execution_options={"synchronize_session": False},
    )


@dataclass
class _Tally:
    """What the claimed events add up to, summed as they stream by."""

    lines: dict[str, _Line] = field(default_factory=lambda: defaultdict(_Line))
    adjustments: int = 0  # owed to the merchant (> 0) or by it
    first_day: date | None = None


def _price(session: Session, book: FeeBook, statement: Statement, now: datetime) -> _Tally:
    """Each sale's fee (and each refund's fee returned) posted as an entry, chunk by chunk, and
    the per-method lines and the adjustments summed. Rows come through Core, not the ORM, and each
    is priced straight from its columns: per event this loop is the close's Python cost."""
    fee_of = cache(book.fee)  # a few (method, brand, day) keys for a million events
    m, sid, on = statement.merchant_id, statement.id, statement.period_through
    payable, fees = accounts.payable(m), accounts.fees(m)
    tally = _Tally()
    first_day = tally.first_day
    sale, refund = EntryKind.SALE.value, EntryKind.REFUND.value
    result = session.connection().execute(
        _claimed(sid), execution_options={"stream_results": True, "max_row_buffer": CHUNK}
    )
    for chunk in result.partitions(CHUNK):
        entries = []
        for pid, ptype, kind, debit, amount, day, brand, sold_on in chunk:
            if first_day is None or day < first_day:
                first_day = day
            if pid is None or (kind != sale and kind != refund):  # an adjustment
                tally.adjustments += amount if debit != payable else -amount
                continue
            line = tally.lines[ptype]
            brand = (brand or "").upper()
            if kind == sale:
                fee = fee_of(ptype, brand, day).on_sale(amount)
                line.count += 1
                line.gross += amount
            else:  # a refund gives back the fee of the day it was sold
                fee = -fee_of(ptype, brand, sold_on or day).on_refund(amount)
                line.refunds += amount
            line.fees += fee
            if fee > 0:
                entries.append(Entry(EntryKind.FEE, payable, fees, fee, on, m, pid, ptype, "", sid))
            elif fee < 0:
                entries.append(
                    Entry(EntryKind.FEE, fees, payable, -fee, on, m, pid, ptype, "", sid)
                )
        post(session, entries, now=now)
    tally.first_day = first_day
    return tally


def _claimed(statement_id: int) -> Select[Any]:
    """The statement's claimed events in id order, streamed `CHUNK` rows at a time, each with its
    card's brand and, for a refund, the date its payment was sold on (its fee is that day's)."""
    sale = aliased(LedgerEntry)
    sold_on = (
        select(func.max(sale.event_date))
        .where(sale.payment_id == LedgerEntry.payment_id, sale.kind == EntryKind.SALE.value)
        .correlate(LedgerEntry)
        .scalar_subquery()
    )
    return (
        select(
            LedgerEntry.payment_id,
            LedgerEntry.payment_type,
            LedgerEntry.kind,
            LedgerEntry.debit,
            LedgerEntry.amount,
            LedgerEntry.event_date,
            Payment.details["card_brand"].as_string().label("brand"),
            case((LedgerEntry.kind == EntryKind.REFUND.value, sold_on)).label("sold_on"),
        )
        .outerjoin(
            Payment,
            and_(Payment.id == LedgerEntry.payment_id, LedgerEntry.payment_type == CARD),
        )
        .where(
            LedgerEntry.statement_id == statement_id,
            LedgerEntry.kind.in_([k.value for k in CLOSED_KINDS]),
        )
        .order_by(LedgerEntry.id)
    )


def _settle_balance(
    statement: Statement,
    book: FeeBook,
    previous: Statement | None,
    tally: _Tally,
    terms: CloseTerms,
) -> list[Entry]:
    """Fill the statement's figures; the transfer fee, monthly fee, tax and payout entries."""
    through = statement.period_through
    payout_fees = book.payout_fees(through)
    # The monthly fee: on the first statement closed in each calendar month.
    new_month = previous is None or previous.period_through.replace(day=1) != through.replace(day=1)
    monthly = payout_fees.monthly_fee if new_month else 0
    lines, adjustments = tally.lines, tally.adjustments
    sales = sum(line.gross - line.refunds - line.fees for line in lines.values())
    base = statement.carried_in + sales + adjustments - monthly

    def balance_with(transfer_fee: int) -> tuple[int, int]:
        fees_total = sum(line.fees for line in lines.values()) + monthly + transfer_fee
        tax = consumption_tax(fees_total, TAX_RATE_PERCENT)
        return tax, base - transfer_fee - tax

    transfer = payout_fees.transfer_fee
    tax, balance = balance_with(transfer)
    paid = balance >= terms.minimum_payout
    if not paid:
        transfer = 0
        tax, balance = balance_with(0)
    statement.transfer_fee, statement.monthly_fee, statement.tax = transfer, monthly, tax
    statement.fees_total = sum(line.fees for line in lines.values()) + monthly + transfer
    statement.adjustments = adjustments
    statement.payout_amount = balance if paid else 0
    statement.carried_forward = 0 if paid else balance
    return _closing_entries(statement)


def _closing_entries(statement: Statement) -> list[Entry]:
    m, on, sid = statement.merchant_id, statement.period_through, statement.id
    payable = accounts.payable(m)

    def entry(kind: EntryKind, account: str, amount: int) -> Entry:
        debit, credit = (payable, account) if amount > 0 else (account, payable)
        return Entry(kind, debit, credit, abs(amount), on, merchant_id=m, statement_id=sid)

    figures = (
        (EntryKind.TRANSFER_FEE, accounts.fees(m), statement.transfer_fee),
        (EntryKind.MONTHLY_FEE, accounts.fees(m), statement.monthly_fee),
        (EntryKind.TAX, accounts.tax(m), statement.tax),
        (EntryKind.PAYOUT, accounts.payout(m), statement.payout_amount),
    )
    return [entry(kind, account, amount) for kind, account, amount in figures if amount]
