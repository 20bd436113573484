"""What methods paid later (ATM, CVS…) share: a deadline, a payment created with the numbers the
buyer pays with, and expiry closed per payment under its row lock, after re-checking — so a payment
paid before its deadline is never expired, whichever of the two arrives first."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from kessai.core.context import Core, MerchantRef
from kessai.core.payments import repository
from kessai.core.payments.models import Payment
from kessai.core.payments.settle import change_status
from kessai.core.payments.views import PaymentView
from kessai.kit.clock import JST, as_utc
from kessai.kit.errors import InvalidRequest, InvalidState, NotFound

APPLIED = "10"
EXPIRED = "12"
MAX_LIMIT_DAYS = 60


def deadline(now: datetime, limit_days: int, max_days: int = MAX_LIMIT_DAYS) -> datetime:
    """23:59:59 Japan time, `limit_days` days from today (0 = today); P012 outside 0–max."""
    if not 0 <= limit_days <= max_days:
        raise InvalidRequest("P012")
    day = as_utc(now).astimezone(JST).date() + timedelta(days=limit_days)
    return datetime.combine(day, time(23, 59, 59), tzinfo=JST)


def create(
    core: Core,
    merchant: MerchantRef,
    *,
    payment_type: str,
    trading_id: str,
    amount: int,
    site_id: str,
    due: datetime,
    details: dict[str, Any],
) -> PaymentView:
    """Write the payment (申込済) with its numbers; one transaction, the notice included."""
    with core.sessions.begin() as session:
        now = core.clock.now()
        payment = Payment(
            merchant_id=merchant.id,
            trading_id=trading_id,
            site_id=site_id,
            payment_type=payment_type,
            amount=amount,
            status=APPLIED,
            due_at=due,
            details=details,
            created_at=now,
            updated_at=now,
        )
        session.add(payment)
        session.flush()
        change_status(session, payment, APPLIED, operation="apply", now=now, initial=True)
        return PaymentView.of(payment)


def locked(session: Session, merchant: MerchantRef, payment_id: int, payment_type: str) -> Payment:
    payment = repository.lock_payment(session, payment_id)
    if payment.merchant_id != merchant.id or payment.payment_type != payment_type:
        raise NotFound("2006")
    return payment


def payable(
    session: Session,
    merchant: MerchantRef,
    payment_id: int,
    payment_type: str,
    paid_at: datetime,
    *,
    done: tuple[str, ...],
) -> tuple[Payment, bool]:
    """The locked payment and whether it is still to be paid at `paid_at` (False: it is already in
    a `done` status, and the first payment stands). 2004 when it is no longer open or the deadline had passed
    (the till or bank would not have taken the money)."""
    payment = locked(session, merchant, payment_id, payment_type)
    if payment.status in done:
        return payment, False
    if payment.status != APPLIED or (payment.due_at and paid_at > payment.due_at):
        raise InvalidState("2004")
    return payment, True


def expire_if_due(session: Session, payment: Payment, now: datetime) -> bool:
    """Expire `payment` (already locked) if it is still unpaid and its deadline has passed."""
    if payment.status != APPLIED or payment.due_at is None or payment.due_at >= now:
        return False
    change_status(session, payment, EXPIRED, operation="expire", now=now)
    return True


def expire_due(core: Core, *, payment_type: str, batch: int = 500) -> int:
    """Expire every unpaid payment of `payment_type` past its deadline, one by one."""
    now = core.clock.now()
    with core.sessions() as session:
        ids = repository.due_unpaid(session, payment_type=payment_type, now=now, limit=batch)
    moved = 0
    for payment_id in ids:
        with core.sessions.begin() as session:
            moved += expire_if_due(session, repository.lock_payment(session, payment_id), now)
    return moved
