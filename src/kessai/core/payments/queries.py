"""The read side of payments for people (the console and its CSV): search, detail, totals.

Every query is scoped to one merchant first, so the console's indexes (merchant_id, …) serve it and
no merchant can see another's payments whatever the form says. Search answers a page and the
number of matches; `stream` walks every match in batches of 1,000 for the CSV, in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kessai.core.notifications.queries import NoticeView, list_notices
from kessai.core.payments.cvs.commands import CHAINS as CVS_CHAINS
from kessai.core.payments.models import Payment, PaymentEvent, PaymentOperation
from kessai.core.payments.views import PaymentView
from kessai.kit.clock import JST
from kessai.kit.errors import NotFound

STREAM_BATCH = 1000
# Up to this many matches (counted before the page is read), the page is cut from the matches
# rather than found by walking the sort column's index (see _cut_from_matches), unless the search
# bounds the sorted date itself.
FEW_MATCHES = 10_000


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open time range [start, end); either end may be open."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def of_days(cls, first: date | None, last: date | None) -> Period:
        """Whole days in Japan time, `first` 00:00 to the end of `last` (both included)."""
        start = datetime.combine(first, datetime.min.time(), tzinfo=JST) if first else None
        end = (
            datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=JST)
            if last
            else None
        )
        return cls(start, end)

    def clause(self, column: InstrumentedAttribute[Any]) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.start is not None:
            clauses.append(column >= self.start)
        if self.end is not None:
            clauses.append(column < self.end)
        return clauses


SORTS: dict[str, InstrumentedAttribute[Any]] = {
    "trading_id": Payment.trading_id,
    "payment_id": Payment.id,
    "payment_type": Payment.payment_type,
    "institution": Payment.institution_name,
    "status": Payment.status,
    "created_at": Payment.created_at,
    "due_at": Payment.due_at,
    "paid_at": Payment.captured_at,
    "amount": Payment.amount,
}


@dataclass(frozen=True, slots=True)
class PaymentSearch:
    """What the console's search form asks for; empty fields do not filter."""

    trading_id: str = ""
    trading_prefix: bool = False  # 前方一致 instead of 完全一致
    payment_id: int | None = None
    statuses: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    institution: str = ""  # an acquirer's or a CVS chain's name (or code)
    created: Period = field(default_factory=Period)  # 取引日時
    due: Period = field(default_factory=Period)  # 支払期限日
    paid: Period = field(default_factory=Period)  # 消込日時
    amount_min: int | None = None
    amount_max: int | None = None
    sort: str = "created_at"
    descending: bool = True


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    rows: list[PaymentView]


def search(
    session: Session, merchant_id: int, criteria: PaymentSearch, *, offset: int, limit: int
) -> SearchPage:
    """One page of the merchant's payments matching `criteria`, and how many match in all."""
    where = _where(session, merchant_id, criteria)
    total = int(session.scalar(select(func.count()).select_from(Payment).where(*where)) or 0)
    if total <= FEW_MATCHES and not _sort_column_bounded(criteria):
        page = _cut_from_matches(where, criteria, offset, limit)
    else:
        page = _ordered(select(Payment).where(*where), criteria).offset(offset).limit(limit)
    return SearchPage(total, [PaymentView.of(row) for row in session.scalars(page)])


def _sort_column_bounded(c: PaymentSearch) -> bool:
    """The search bounds the date it sorts by (the default: 取引日時 from 30 days ago): walking
    that column's index then stays within the range, and is the fastest way to a page."""
    period = {"created_at": c.created, "due_at": c.due, "paid_at": c.paid}.get(c.sort)
    return period is not None and period != Period()


def _cut_from_matches(
    where: list[ColumnElement[bool]], c: PaymentSearch, offset: int, limit: int
) -> Select[Payment]:
    """The page cut from the matches themselves: every match's id and sort key first (a
    MATERIALIZED CTE, planned for the filter alone), then the page's ids, then their rows.

    Asked directly for `ORDER BY created_at DESC LIMIT 50`, PostgreSQL walks the (merchant_id,
    created_at) index backwards and filters, betting that matches lie evenly along it. They do not
    when the filter is another date: one day of 消込日時 300 days ago lay 770,000 rows down that walk
    (326 ms, against 17 ms this way; bench/console_search.py). Few matches bound this way's cost."""
    key = SORTS.get(c.sort, Payment.created_at)
    matches = (
        select(Payment.id.label("id"), key.label("key"))
        .where(*where)
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    if c.descending:
        order = (matches.c.key.desc(), matches.c.id.desc())
    else:
        order = (matches.c.key.asc(), matches.c.id.asc())
    page = select(matches.c.id).order_by(*order).offset(offset).limit(limit)
    return _ordered(select(Payment).where(Payment.id.in_(page)), c)


def stream(session: Session, merchant_id: int, criteria: PaymentSearch) -> Iterator[PaymentView]:
    """Every match in the search's order, fetched 1,000 rows at a time (server-side cursor on
    PostgreSQL), so a CSV of a million payments never holds more than a batch."""
    query = _ordered(select(Payment).where(*_where(session, merchant_id, criteria)), criteria)
    result = session.execute(query.execution_options(yield_per=STREAM_BATCH))
    # The session's identity map holds its objects weakly: a row no longer referenced once its
    # view is made is freed, so memory stays at about one batch (bench/console_search.py).
    for partition in result.scalars().partitions():
        for row in partition:
            yield PaymentView.of(row)


def selected(session: Session, merchant_id: int, payment_ids: list[int]) -> list[PaymentView]:
    """The merchant's payments among `payment_ids` (others' are silently absent), by id."""
    rows = session.scalars(
        select(Payment)
        .where(Payment.merchant_id == merchant_id, Payment.id.in_(payment_ids))
        .order_by(Payment.id)
    )
    return [PaymentView.of(row) for row in rows]


def _where(session: Session, merchant_id: int, c: PaymentSearch) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Payment.merchant_id == merchant_id]
    if c.trading_id:
        where.append(_trading_id(session, c.trading_id, c.trading_prefix))
    if c.payment_id is not None:
        where.append(Payment.id == c.payment_id)
    if c.statuses:
        where.append(Payment.status.in_(c.statuses))
    if c.methods:
        where.append(Payment.payment_type.in_(c.methods))
    if c.institution:
        where.append(_institution(c.institution))
    where += c.created.clause(Payment.created_at)
    where += c.due.clause(Payment.due_at)
    where += c.paid.clause(Payment.captured_at)
    if c.amount_min is not None:
        where.append(Payment.amount >= c.amount_min)
    if c.amount_max is not None:
        where.append(Payment.amount <= c.amount_max)
    return where


def _trading_id(session: Session, value: str, prefix: bool) -> ColumnElement[bool]:
    if not prefix:
        return Payment.trading_id == value
    if session.get_bind().dialect.name == "postgresql":
        # LIKE 'abc%' uses the (merchant_id, trading_id varchar_pattern_ops) index under any
        # collation; a plain range would be wrong under some collations.
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return Payment.trading_id.like(escaped + "%", escape="\\")
    # SQLite compares bytes (BINARY): every string starting with `value` lies in this range,
    # which the index serves (SQLite's LIKE is case-insensitive and would not use it).
    return and_(Payment.trading_id >= value, Payment.trading_id < value + "\U0010ffff")


def _institution(value: str) -> ColumnElement[bool]:
    chains = [code for code, name in CVS_CHAINS.items() if value in (code, name)]
    by_card = or_(Payment.institution_name == value, Payment.institution_code == value)
    if not chains:
        return by_card
    chain = Payment.details["cvs_company_id"].as_string()
    return or_(by_card, and_(Payment.payment_type == "03", chain.in_(chains)))


def _ordered(query: Select[Payment], c: PaymentSearch) -> Select[Payment]:
    column = SORTS.get(c.sort, Payment.created_at)
    if c.descending:
        return query.order_by(column.desc(), Payment.id.desc())
    return query.order_by(column.asc(), Payment.id.asc())


# ---------------------------------------------------------------- detail


@dataclass(frozen=True, slots=True)
class EventView:
    at: datetime
    operation: str
    from_status: str
    to_status: str
    amount: int
    response_code: str
    response_detail: str


@dataclass(frozen=True, slots=True)
class OperationView:
    created_at: datetime
    kind: str
    status: str
    amount: int
    response_code: str
    response_detail: str
    attempts: int


@dataclass(frozen=True, slots=True)
class PaymentDetail:
    payment: PaymentView
    events: list[EventView]
    operations: list[OperationView]
    notices: list[NoticeView]
    related: list[PaymentView]  # corrections made from it, or the one it corrected


def get_detail(session: Session, merchant_id: int, payment_id: int) -> PaymentDetail:
    """A payment with its whole history; NotFound if it is not this merchant's."""
    payment = session.get(Payment, payment_id)
    if payment is None or payment.merchant_id != merchant_id:
        raise NotFound("2006")
    events = session.scalars(
        select(PaymentEvent).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.id)
    )
    operations = session.scalars(
        select(PaymentOperation)
        .where(PaymentOperation.payment_id == payment_id)
        .order_by(PaymentOperation.id)
    )
    return PaymentDetail(
        payment=PaymentView.of(payment),
        events=[_event(e) for e in events],
        operations=[_operation(o) for o in operations],
        notices=list_notices(session, merchant_id, payment_id=payment_id, with_attempts=True),
        related=_related(session, payment),
    )


def _related(session: Session, payment: Payment) -> list[PaymentView]:
    links = [Payment.related_payment_id == payment.id]
    if payment.related_payment_id is not None:
        links.append(Payment.id == payment.related_payment_id)
    rows = session.scalars(
        select(Payment)
        .where(Payment.merchant_id == payment.merchant_id, or_(*links))
        .order_by(Payment.id)
    )
    return [PaymentView.of(row) for row in rows]


def _event(row: PaymentEvent) -> EventView:
    return EventView(
        row.created_at,
        row.operation,
        row.from_status,
        row.to_status,
        row.amount,
        row.response_code,
        row.response_detail,
    )


def _operation(row: PaymentOperation) -> OperationView:
    return OperationView(
        row.created_at,
        row.kind,
        row.status,
        row.amount,
        row.response_code,
        row.response_detail,
        row.attempts,
    )


# ---------------------------------------------------------------- dashboard


@dataclass(frozen=True, slots=True)
class MethodTotals:
    payment_type: str
    count: int
    amount: int
    paid_count: int
    paid_amount: int


@dataclass(frozen=True, slots=True)
class DailyAmount:
    day: date
    amount: int
    paid_amount: int


# Statuses in which money was taken (消込済 and its closed variant, 速報検知済).
PAID_STATUSES = ("40", "41", "43")


def totals_by_method(session: Session, merchant_id: int, period: Period) -> list[MethodTotals]:
    """Per method, over payments registered in `period`: how many and how much, and of those
    how many are paid now and for how much."""
    paid = Payment.status.in_(PAID_STATUSES)
    rows = session.execute(
        select(
            Payment.payment_type,
            func.count(),
            func.coalesce(func.sum(Payment.amount), 0),
            func.sum(case((paid, 1), else_=0)),
            func.coalesce(func.sum(case((paid, Payment.amount), else_=0)), 0),
        )
        .where(Payment.merchant_id == merchant_id, *period.clause(Payment.created_at))
        .group_by(Payment.payment_type)
        .order_by(Payment.payment_type)
    )
    return [
        MethodTotals(str(t), int(n), int(amount), int(pn or 0), int(pa or 0))
        for t, n, amount, pn, pa in rows
    ]


def daily_amounts(session: Session, merchant_id: int, first: date, last: date) -> list[DailyAmount]:
    """Amounts registered (and paid) per day in Japan time, every day from `first` to `last`."""
    day = _jst_day(session)
    paid = Payment.status.in_(PAID_STATUSES)
    period = Period.of_days(first, last)
    rows = session.execute(
        select(
            day,
            func.coalesce(func.sum(Payment.amount), 0),
            func.coalesce(func.sum(case((paid, Payment.amount), else_=0)), 0),
        )
        .where(Payment.merchant_id == merchant_id, *period.clause(Payment.created_at))
        .group_by(day)
    )
    found = {str(d)[:10]: (int(a), int(p)) for d, a, p in rows}
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [DailyAmount(d, *found.get(d.isoformat(), (0, 0))) for d in days]


def _jst_day(session: Session) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", Payment.created_at), "YYYY-MM-DD")
    # SQLite stores UTC as text; Japan has no daylight saving, so +9 hours is exact.
    return func.date(Payment.created_at, "+9 hours")
