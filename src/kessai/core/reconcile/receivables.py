"""What is owed to a merchant (売掛金), read without any upload.

Two kinds of money are on the way to a merchant:

- **issued, not paid yet**: payments the buyer pays later (ATM, CVS, slip, bank net, virtual
  account) still waiting for the buyer — applied (申込済, 10) or only reported by a chain (速報, 43,
  not money until confirmed) — by their deadline, the ones past it marked overdue;
- **paid, not paid out yet**: sales and refunds in the ledger that no statement has closed yet, by
  the payout date the merchant's cycle gives their day (`payouts.calendar.period_of`; without a
  cycle, 月末締め翌月末払い as `statements.payout_date` pays), and statements closed whose payout
  has not been booked as sent (`kessai payouts mark-paid`).

Every figure is integer yen and one merchant's only; the queries aggregate in the database, so a
merchant with a million open payments reads a handful of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from kessai.core.ledger.journal import EntryKind
from kessai.core.ledger.models import LedgerEntry
from kessai.core.payments.models import Payment
from kessai.core.payments.tables import ATM, BANK_NET, CVS, SLIP, VIRTUAL_ACCOUNT
from kessai.core.payouts.calendar import PayoutPeriod, period_of
from kessai.core.payouts.settings import payout_settings, stored_cycle
from kessai.core.statements.models import Statement
from kessai.core.statements.payout_date import DEFAULT_CYCLE
from kessai.kit.clock import JST, as_utc

PAID_LATER = (ATM, CVS, SLIP, BANK_NET, VIRTUAL_ACCOUNT)
# 申込済 and 速報検知済: the buyer has not paid for good yet (`tables.holds_money` is False).
WAITING = ("10", "43")
ROWS_SHOWN = 200  # the first payments by deadline; the payments search shows the rest


@dataclass(frozen=True, slots=True)
class OpenPayment:
    """One payment issued and not paid yet."""

    payment_id: int
    trading_id: str
    payment_type: str
    status: str
    amount: int
    due_at: datetime | None
    overdue: bool


@dataclass(slots=True)
class DueDay:
    """The payments due on one day in Japan (None: payments without a deadline)."""

    day: date | None
    count: int = 0
    amount: int = 0
    overdue_count: int = 0
    overdue_amount: int = 0


@dataclass(slots=True)
class OpenSales:
    """Sales and refunds no statement has closed yet, of one payout period."""

    period: PayoutPeriod
    sales: int = 0
    sales_count: int = 0
    refunds: int = 0
    refunds_count: int = 0
    close_due: bool = False  # the period has ended: the close (締め処理) is still to run

    @property
    def net(self) -> int:
        return self.sales - self.refunds


@dataclass(frozen=True, slots=True)
class PayoutDue:
    """A statement closed whose payout has not been sent."""

    statement_id: int
    number: int
    period_through: date
    payout_date: date
    amount: int
    late: bool  # its payout date has passed


@dataclass
class Receivables:
    """The 売掛金 view of one merchant at `today` (Japan)."""

    today: date
    due_days: list[DueDay] = field(default_factory=list)
    open_payments: list[OpenPayment] = field(default_factory=list)
    open_sales: list[OpenSales] = field(default_factory=list)
    payouts_due: list[PayoutDue] = field(default_factory=list)

    @property
    def issued_count(self) -> int:
        return sum(d.count for d in self.due_days)

    @property
    def issued_amount(self) -> int:
        return sum(d.amount for d in self.due_days)

    @property
    def overdue_count(self) -> int:
        return sum(d.overdue_count for d in self.due_days)

    @property
    def overdue_amount(self) -> int:
        return sum(d.overdue_amount for d in self.due_days)

    @property
    def open_sales_amount(self) -> int:
        return sum(s.net for s in self.open_sales)

    @property
    def payouts_due_amount(self) -> int:
        return sum(p.amount for p in self.payouts_due)


def receivables(
    session: Session, *, merchant_id: int, now: datetime, rows: int = ROWS_SHOWN
) -> Receivables:
    """What `merchant_id` is owed at `now` (the merchant's time: a sandbox test clock counts)."""
    today = as_utc(now).astimezone(JST).date()
    return Receivables(
        today=today,
        due_days=due_days(session, merchant_id, now),
        open_payments=open_payments(session, merchant_id, now, limit=rows),
        open_sales=open_sales(session, merchant_id, today),
        payouts_due=payouts_due(session, merchant_id, today),
    )


def _waiting(merchant_id: int) -> list[ColumnElement[bool]]:
    return [
        Payment.merchant_id == merchant_id,
        Payment.payment_type.in_(PAID_LATER),
        Payment.status.in_(WAITING),
    ]


def due_days(session: Session, merchant_id: int, now: datetime) -> list[DueDay]:
    """Issued, unpaid payments per deadline day (Japan), earliest first; no deadline last."""
    found = session.execute(
        select(Payment.due_at, func.count(), func.sum(Payment.amount))
        .where(*_waiting(merchant_id))
        .group_by(Payment.due_at)
    )
    days: dict[date | None, DueDay] = {}
    for due_at, count, amount in found:
        day = None if due_at is None else as_utc(due_at).astimezone(JST).date()
        entry = days.setdefault(day, DueDay(day))
        entry.count += int(count)
        entry.amount += int(amount or 0)
        if due_at is not None and as_utc(due_at) < as_utc(now):
            entry.overdue_count += int(count)
            entry.overdue_amount += int(amount or 0)
    return sorted(days.values(), key=lambda d: (d.day is None, d.day or date.min))


def open_payments(
    session: Session, merchant_id: int, now: datetime, *, limit: int
) -> list[OpenPayment]:
    """The first `limit` issued, unpaid payments by deadline (no deadline last), then by ID."""
    found = session.execute(
        select(
            Payment.id,
            Payment.trading_id,
            Payment.payment_type,
            Payment.status,
            Payment.amount,
            Payment.due_at,
        )
        .where(*_waiting(merchant_id))
        .order_by(Payment.due_at.is_(None), Payment.due_at, Payment.id)
        .limit(limit)
    )
    return [
        OpenPayment(
            payment_id=pid,
            trading_id=trading_id,
            payment_type=payment_type,
            status=status,
            amount=amount,
            due_at=due_at,
            overdue=due_at is not None and as_utc(due_at) < as_utc(now),
        )
        for pid, trading_id, payment_type, status, amount, due_at in found
    ]


def open_sales(session: Session, merchant_id: int, today: date) -> list[OpenSales]:
    """Sales and refunds not on a statement yet, per payout period, earliest payout first."""
    found = session.execute(
        select(LedgerEntry.event_date, LedgerEntry.kind, func.count(), func.sum(LedgerEntry.amount))
        .where(
            LedgerEntry.merchant_id == merchant_id,
            LedgerEntry.statement_id.is_(None),
            LedgerEntry.kind.in_([EntryKind.SALE.value, EntryKind.REFUND.value]),
        )
        .group_by(LedgerEntry.event_date, LedgerEntry.kind)
    )
    cycle = stored_cycle(payout_settings(session, merchant_id)) or DEFAULT_CYCLE
    periods: dict[date, OpenSales] = {}
    for event_date, kind, count, amount in found:
        period = period_of(cycle, event_date)
        entry = periods.setdefault(
            period.period_through, OpenSales(period, close_due=period.period_through < today)
        )
        if kind == EntryKind.SALE.value:
            entry.sales += int(amount)
            entry.sales_count += int(count)
        else:
            entry.refunds += int(amount)
            entry.refunds_count += int(count)
    return sorted(periods.values(), key=lambda s: s.period.period_through)


def payouts_due(session: Session, merchant_id: int, today: date) -> list[PayoutDue]:
    """Statements closed with a payout that has not been booked as sent, by payout date."""
    sent = exists().where(
        LedgerEntry.statement_id == Statement.id,
        LedgerEntry.kind == EntryKind.PAYOUT_SENT.value,
    )
    found = session.scalars(
        select(Statement)
        .where(Statement.merchant_id == merchant_id, Statement.payout_amount > 0, ~sent)
        .order_by(Statement.payout_date, Statement.number)
    )
    return [_payout_due(s, today) for s in found]


def _payout_due(statement: Statement, today: date) -> PayoutDue:
    return PayoutDue(
        statement_id=statement.id,
        number=statement.number,
        period_through=statement.period_through,
        payout_date=statement.payout_date,
        amount=statement.payout_amount,
        late=statement.payout_date < today,
    )
