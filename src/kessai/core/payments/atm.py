"""ATM / Pay-easy payments (ペイジー, telegram 010): apply, paid (消込), expired (paygent-protocol.md
§1.5 010, §3.5).

Issuing numbers moves no money, so the agency is asked before the payment is written (one
transaction, no write-ahead). Paying and expiring each close the payment under its row lock and
re-check the state there, so a payment paid before its deadline is never expired, whichever of the
two arrives first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from kessai.core.context import Core, MerchantRef
from kessai.core.payments import repository
from kessai.core.payments.models import Payment
from kessai.core.payments.settle import change_status
from kessai.core.payments.states.atm import AtmOperation, AtmStatus
from kessai.core.payments.views import PaymentView
from kessai.kit.clock import JST, as_utc
from kessai.kit.errors import InvalidRequest, InvalidState, NotFound

PAYMENT_TYPE = "01"
DEFAULT_LIMIT_DAYS = 30
MAX_LIMIT_DAYS = 60


@dataclass(frozen=True, slots=True)
class AtmRequest:
    trading_id: str
    amount: int
    payment_detail: str
    payment_detail_kana: str
    limit_days: int = DEFAULT_LIMIT_DAYS
    customer_family_name: str = ""
    customer_name: str = ""
    customer_family_name_kana: str = ""
    customer_name_kana: str = ""
    site_id: str = ""


def deadline(now: datetime, limit_days: int) -> datetime:
    """23:59:59 Japan time, `limit_days` days from today (0 = today)."""
    if not 0 <= limit_days <= MAX_LIMIT_DAYS:
        raise InvalidRequest("P012")
    day = as_utc(now).astimezone(JST).date() + timedelta(days=limit_days)
    return datetime.combine(day, time(23, 59, 59), tzinfo=JST)


def apply(core: Core, merchant: MerchantRef, req: AtmRequest) -> PaymentView:
    """Register an ATM payment (ATM決済申込) and issue the numbers the buyer pays with."""
    now = core.clock.now()
    due = deadline(now, req.limit_days)
    numbers = core.payeasy_for(merchant).issue(idempotency_key=uuid.uuid4().hex, amount=req.amount)
    with core.sessions.begin() as session:
        payment = Payment(
            merchant_id=merchant.id,
            trading_id=req.trading_id,
            site_id=req.site_id,
            payment_type=PAYMENT_TYPE,
            amount=req.amount,
            status=AtmStatus.APPLIED.value,
            due_at=due,
            details={
                "pay_center_number": numbers.pay_center_number,
                "customer_number": numbers.customer_number,
                "conf_number": numbers.conf_number,
                "payment_detail": req.payment_detail,
                "payment_detail_kana": req.payment_detail_kana,
                "customer_family_name": req.customer_family_name,
                "customer_name": req.customer_name,
                "customer_family_name_kana": req.customer_family_name_kana,
                "customer_name_kana": req.customer_name_kana,
            },
            created_at=now,
            updated_at=now,
        )
        session.add(payment)
        session.flush()
        change_status(session, payment, AtmStatus.APPLIED.value, operation="apply", now=now)
        return PaymentView.of(payment)


def pay(
    core: Core,
    merchant: MerchantRef,
    payment_id: int,
    *,
    paid_at: datetime | None = None,
    bank_code: str = "9900",
) -> PaymentView:
    """The bank reports the buyer paid (消込): 10 → 40. Paid after the deadline → 2004 (the bank
    would not have taken it); paid twice → the first payment stands."""
    with core.sessions.begin() as session:
        now = core.clock.now()
        paid_at = paid_at or now
        payment = _locked(session, merchant, payment_id)
        if payment.status == AtmStatus.PAID:
            return PaymentView.of(payment)
        if payment.status != AtmStatus.APPLIED or (payment.due_at and paid_at > payment.due_at):
            raise InvalidState("2004")
        payment.captured_at = paid_at
        payment.details = {**(payment.details or {}), "bank_code": bank_code}
        change_status(session, payment, AtmStatus.PAID.value, operation=AtmOperation.PAY, now=now)
        return PaymentView.of(payment)


def expire_due(core: Core, *, batch: int = 500) -> int:
    """10 → 12 for every unpaid ATM payment whose deadline has passed; each closed on its own,
    under its lock, after re-checking (never a sweep that could touch a paid one)."""
    now = core.clock.now()
    with core.sessions() as session:
        ids = repository.due_unpaid(session, payment_type=PAYMENT_TYPE, now=now, limit=batch)
    moved = 0
    for payment_id in ids:
        with core.sessions.begin() as session:
            payment = repository.lock_payment(session, payment_id)
            moved += expire_if_due(session, payment, now)
    return moved


def expire_if_due(session: Session, payment: Payment, now: datetime) -> bool:
    """Expire `payment` (already locked) if it is an unpaid ATM payment past its deadline."""
    if payment.payment_type != PAYMENT_TYPE or payment.status != AtmStatus.APPLIED:
        return False
    if payment.due_at is None or payment.due_at >= now:
        return False
    change_status(session, payment, AtmStatus.EXPIRED.value, operation=AtmOperation.EXPIRE, now=now)
    return True


def _locked(session: Session, merchant: MerchantRef, payment_id: int) -> Payment:
    payment = repository.lock_payment(session, payment_id)
    if payment.merchant_id != merchant.id or payment.payment_type != PAYMENT_TYPE:
        raise NotFound("2006")
    return payment
