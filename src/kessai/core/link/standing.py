"""Where an order (a merchant's trading_id) stands, read from its payments: `paid` when one
succeeded, `issued` when the buyer holds a number to pay with, else `open`.

The hosted page promises that an order is paid once ([LINK-GUIDE] 4.3). Its own steps hold the
page's lease; the institutions' pages the buyer may still have open in another tab (the carrier's
consent, the bank's page) ask `taken_by_another` before they take money for a page's order.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.link.models import LinkRequest
from kessai.core.payments.models import Payment

# A payment that settles the order: authorised, captured or paid (any method).
PAID_STATUSES = frozenset({"20", "21", "30", "31", "35", "40", "41", "43", "44"})
# Methods whose status 10 means the buyer holds a number to pay with (ATM, CVS, slip, account).
ISSUED_METHODS = frozenset({"01", "03", "04", "07"})
APPLIED = "10"


def of_payments(
    session: Session, merchant_id: int, trading_id: str, *, besides: int | None = None
) -> tuple[str, int | None]:
    """(`paid` | `issued` | `open`, the payment behind it); declined, abandoned or expired
    attempts do not count, nor the payment `besides`."""
    rows = session.execute(
        select(Payment.id, Payment.payment_type, Payment.status).where(
            Payment.merchant_id == merchant_id, Payment.trading_id == trading_id
        )
    ).all()
    rows = [row for row in rows if row[0] != besides]
    for payment_id, _type, status in rows:
        if status in PAID_STATUSES:
            return "paid", payment_id
    for payment_id, payment_type, status in rows:
        if status == APPLIED and payment_type in ISSUED_METHODS:
            return "issued", payment_id
    return "open", None


def taken_by_another(session: Session, payment: Payment) -> bool:
    """Whether `payment` belongs to a hosted page's order that another payment has paid, or for
    which the buyer holds a number already (then this one must not take money too)."""
    if not payment.trading_id:
        return False
    page = session.scalar(
        select(LinkRequest.id).where(
            LinkRequest.merchant_id == payment.merchant_id,
            LinkRequest.trading_id == payment.trading_id,
        )
    )
    if page is None:
        return False
    standing, _ = of_payments(session, payment.merchant_id, payment.trading_id, besides=payment.id)
    return standing != "open"
