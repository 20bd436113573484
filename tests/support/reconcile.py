"""A merchant with payments of every reconciliation class, made through the core, and the order
list (CSV) that reconciles them: one 取引ID per class, so a test (core, CLI or console page) can
assert each class by its 取引ID."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from kessai.app import Runtime
from kessai.core.payments.card import commands as card
from kessai.core.payments.card.corrections import CorrectionRequest, correct
from kessai.core.payments.refs import PaymentRef
from kessai.core.reconcile.orders import ColumnMap
from kessai.core.reconcile.run import reconcile
from tests.support.console import card_payment, cvs_payment, merchant_ref

# 取引ID → the class its first order line lands in (DUP's second listing: duplicate_orders).
EXPECTED = {
    "M-1": "matched",
    "D-1": "amount_differs",
    "U-CVS": "unpaid",
    "U-NONE": "unpaid",
    "C-REFUND": "cancelled",
    "C-PART": "cancelled",
    "T-2": "paid_twice",
    "N-1": "unmatched_payments",
}


@dataclass(frozen=True)
class EveryClass:
    """The order list (UTF-8 text; encode it as the test needs) and the payments made."""

    orders: str
    payment_ids: dict[str, list[int]]


def every_class(runtime: Runtime, merchant_id: int) -> EveryClass:
    """Payments of every class for `merchant_id`, and the order list that reconciles them."""
    ref = merchant_ref(runtime, merchant_id)
    made: dict[str, list[int]] = {
        "M-1": [card_payment(runtime, merchant_id, "M-1", 1200, capture=True)],
        "D-1": [card_payment(runtime, merchant_id, "D-1", 900, capture=True)],
        "U-CVS": [cvs_payment(runtime, merchant_id, "U-CVS", 3000)],
        "C-REFUND": [card_payment(runtime, merchant_id, "C-REFUND", 500, capture=True)],
        "C-PART": [card_payment(runtime, merchant_id, "C-PART", 2000, capture=True)],
        "T-2": [card_payment(runtime, merchant_id, "T-2", 800, capture=True) for _ in range(2)],
        "N-1": [card_payment(runtime, merchant_id, "N-1", 700, capture=True)],
    }
    assert card.refund(runtime.core, ref, PaymentRef(payment_id=str(made["C-REFUND"][0]))).ok
    part = correct(
        runtime.core,
        ref,
        CorrectionRequest(
            PaymentRef(payment_id=str(made["C-PART"][0])), 500, is_reduction=True, capture=True
        ),
    )
    assert part.ok and part.payment is not None
    made["C-PART"].append(part.payment.payment_id)
    orders = (
        "取引ID,金額,入金予定日,決済方法\n"
        "M-1,1200,,カード\n"
        "D-1,1000,,カード\n"
        "U-CVS,3000,,コンビニ\n"
        "U-NONE,450,2020/01/31,銀行振込\n"
        "C-REFUND,500,,カード\n"
        "C-PART,2000,,カード\n"
        "T-2,800,,カード\n"
        "M-1,1200,,カード\n"
    )
    return EveryClass(orders, made)


def run(
    runtime: Runtime,
    merchant_id: int,
    body: bytes,
    *,
    columns: ColumnMap | None = None,
    period: tuple[date | None, date | None] = (None, None),
    now: datetime | None = None,
) -> int:
    """Reconcile `body` for `merchant_id` in one transaction, as the CLI does; its id."""
    with runtime.core.sessions.begin() as session:
        return reconcile(
            session,
            merchant_id=merchant_id,
            source=io.BytesIO(body),
            file_name="orders.csv",
            columns=columns,
            period_from=period[0],
            period_to=period[1],
            created_by="test",
            now=now or runtime.core.clock.now(),
        )
