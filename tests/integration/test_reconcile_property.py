"""For random order lists and random payments (every method and every status of its table,
captured or not, cancelled or not, some paid twice, some outside the period, orders listed twice),
every order line and every payment of the period lands in exactly one class, the class totals add
up to the list's total and the period's paid total, and each 取引ID's class is the one the rules of
docs/user/reconciliation.md give (a Python statement of them, checked against the SQL)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kessai.app import Runtime
from kessai.core.payments.models import Payment
from kessai.core.payments.tables import PAYMENT_TYPES, holds_money, statuses
from kessai.core.reconcile.classes import ReconClass
from kessai.core.reconcile.views import iter_rows, summary
from kessai.kit.clock import JST
from tests.conftest import make_merchant
from tests.support.reconcile import run

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # 12:00 in Japan
DAYS = [date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 5)]
TRADING_IDS = ["T1", "T2", "受注-3"]
AMOUNTS = [100, 200, 300]


@dataclass(frozen=True)
class Pay:
    trading_id: str
    payment_type: str
    status: str
    amount: int
    captured: bool
    cancelled: bool
    day: int  # index into DAYS, in Japan
    due_in_days: int | None


def _pays() -> st.SearchStrategy[Pay]:
    def for_type(payment_type: str) -> st.SearchStrategy[Pay]:
        return st.builds(
            Pay,
            trading_id=st.sampled_from([*TRADING_IDS, ""]),
            payment_type=st.just(payment_type),
            status=st.sampled_from(statuses(payment_type)),
            amount=st.sampled_from(AMOUNTS),
            captured=st.booleans(),
            cancelled=st.booleans(),
            day=st.integers(0, len(DAYS) - 1),
            due_in_days=st.none() | st.integers(-3, 3),
        )

    return st.sampled_from(PAYMENT_TYPES).flatmap(for_type)


ORDERS = st.lists(st.tuples(st.sampled_from(TRADING_IDS), st.sampled_from(AMOUNTS)), max_size=12)
PERIOD = st.sampled_from([(None, None), (DAYS[1], None), (None, DAYS[1]), (DAYS[1], DAYS[2])])


def _insert(runtime: Runtime, merchant_id: int, pays: list[Pay]) -> list[int]:
    with runtime.core.sessions.begin() as session:
        rows = [_payment(merchant_id, p) for p in pays]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _payment(merchant_id: int, p: Pay) -> Payment:
    created = datetime.combine(DAYS[p.day], datetime.min.time(), JST) + timedelta(hours=9)
    return Payment(
        merchant_id=merchant_id,
        trading_id=p.trading_id,
        payment_type=p.payment_type,
        amount=p.amount,
        status=p.status,
        details={},
        created_at=created,
        updated_at=created,
        captured_at=created if p.captured else None,
        cancelled_at=created if p.cancelled else None,
        due_at=None if p.due_in_days is None else NOW + timedelta(days=p.due_in_days),
    )


def _in_period(p: Pay, period: tuple[date | None, date | None]) -> bool:
    day = DAYS[p.day]
    return (period[0] is None or day >= period[0]) and (period[1] is None or day <= period[1])


def _paid(p: Pay) -> bool:
    return holds_money(p.payment_type, p.status, captured=p.captured)


def _expected_class(amount: int, pays: list[Pay]) -> ReconClass:
    """The documented rules, in Python."""
    paid = [p for p in pays if _paid(p)]
    reversed_ = [p for p in pays if not _paid(p) and p.cancelled]
    paid_sum = sum(p.amount for p in paid)
    if len(paid) >= 2:
        return ReconClass.PAID_TWICE
    if len(paid) == 1 and paid_sum == amount:
        return ReconClass.MATCHED
    if len(paid) == 1:
        return (
            ReconClass.CANCELLED if reversed_ and paid_sum < amount else ReconClass.AMOUNT_DIFFERS
        )
    return ReconClass.CANCELLED if reversed_ else ReconClass.UNPAID


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(orders=ORDERS, pays=st.lists(_pays(), max_size=14), period=PERIOD)
def test_every_order_line_and_payment_lands_in_exactly_one_class(
    runtime: Runtime,
    orders: list[tuple[str, int]],
    pays: list[Pay],
    period: tuple[date | None, date | None],
):
    merchant_id = make_merchant(runtime).merchant_id
    ids = _insert(runtime, merchant_id, pays)
    body = "取引ID,金額\n" + "".join(f"{tid},{amount}\n" for tid, amount in orders)
    rid = run(runtime, merchant_id, body.encode("cp932"), period=period, now=NOW)
    with runtime.core.sessions() as session:
        found = list(iter_rows(session, merchant_id=merchant_id, reconciliation_id=rid, cls=None))
        shown = summary(session, merchant_id=merchant_id, reconciliation_id=rid)

    in_period = {pid: p for pid, p in zip(ids, pays, strict=True) if _in_period(p, period)}
    listed = sorted(line for r in found if r.order_line is not None for line in [r.order_line])
    assert listed == list(range(2, len(orders) + 2))  # every line once
    carried = sorted(pid for r in found for pid in r.payment_ids)
    assert carried == sorted(in_period)  # every payment of the period once, no other
    assert sum(t.order_amount for t in shown.totals.values()) == sum(a for _, a in orders)
    paid_total = sum(p.amount for p in in_period.values() if _paid(p))
    assert sum(t.paid_amount for t in shown.totals.values()) == paid_total
    assert sum(t.count for t in shown.totals.values()) == len(found)
    assert shown.payments == len(in_period)

    by_tid: dict[str, list[Pay]] = defaultdict(list)
    for p in in_period.values():
        by_tid[p.trading_id].append(p)
    first_line: dict[str, int] = {}
    for line, (tid, _) in enumerate(orders, start=2):
        first_line.setdefault(tid, line)
    for r in found:
        if r.order_line is None:
            assert r.cls is ReconClass.UNMATCHED_PAYMENTS and r.trading_id not in first_line
        elif r.order_line != first_line[r.trading_id]:
            assert r.cls is ReconClass.DUPLICATE_ORDERS and r.payment_ids == []
        else:
            assert r.order_amount is not None
            assert r.cls is _expected_class(r.order_amount, by_tid[r.trading_id])
