"""Clearing bank net payments (消込, paygent-protocol.md §3.6): the bank's completion notice
(10 → 40, late 15 → 40), the buyer refusing or leaving at the bank (nothing moves), and expiry
(10 → 15). The application and the bank choices are in `banknet`.

An application is locked before its payment, always: at most one payment of it is cleared, and two
clearings never deadlock (expiry locks the payment alone).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.connectors.base import ConnectorResult, Outcome
from kessai.core.context import Core, MerchantRef
from kessai.core.payments import later
from kessai.core.payments.banknet.commands import PAYMENT_TYPE, locate_request
from kessai.core.payments.banknet.models import BankNetRequest
from kessai.core.payments.banknet.states import TRANSITIONS, BankNetOperation, BankNetStatus
from kessai.core.payments.models import Payment
from kessai.core.payments.settle import change_status
from kessai.core.payments.views import PaymentView
from kessai.kit.errors import InternalError, InvalidRequest, InvalidState, NotFound

log = logging.getLogger("kessai.payments")


def pay(
    core: Core,
    merchant: MerchantRef,
    payment_id: int,
    *,
    paid_at: datetime | None = None,
    bank_code: str = "",
) -> PaymentView:
    """The bank's completion notice (消込): 10 → 40. Paid after the deadline → 2004; paid twice →
    the first payment stands; another payment of the application already paid → 5008. A
    `bank_code` must be the payment's bank (P010)."""
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        paid_at = paid_at or at.merchant
        row = _lock_request_of(session, merchant, payment_id)
        payment, to_pay = later.payable(
            session, merchant, payment_id, PAYMENT_TYPE, paid_at, done=(BankNetStatus.PAID,)
        )
        if bank_code and bank_code != payment.details.get("bank_code"):
            raise InvalidRequest("P010", field="bank_code")
        if to_pay:
            if row.paid_payment_id is not None:
                raise InvalidState("5008")
            _clear(session, row, payment, BankNetOperation.PAY, paid_at, at)
        return PaymentView.of(payment)


def pay_late(
    core: Core, merchant: MerchantRef, payment_id: int, *, paid_at: datetime | None = None
) -> PaymentView:
    """A completion notice for a payment already closed (15 → 40, rare: §3.6)."""
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        row = _lock_request_of(session, merchant, payment_id)
        payment = later.locked(session, merchant, payment_id, PAYMENT_TYPE)
        if payment.status != BankNetStatus.ABANDONED:
            raise InvalidState("2004")
        if row.paid_payment_id is not None:
            raise InvalidState("5008")
        _clear(session, row, payment, BankNetOperation.PAY_LATE, paid_at or at.merchant, at)
        return PaymentView.of(payment)


def receive_completion(
    core: Core, merchant: MerchantRef, payment_id: int, result: ConnectorResult
) -> PaymentView:
    """Apply the bank's answer to the buyer's payment. Money the bank took is always recorded:
    10 → 40, or 15 → 40 when the payment closed meanwhile; a refusal moves nothing."""
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        row = _lock_request_of(session, merchant, payment_id)
        payment = later.locked(session, merchant, payment_id, PAYMENT_TYPE)
        status = BankNetStatus(payment.status)
        if result.outcome is not Outcome.SUCCEEDED:
            if status is BankNetStatus.APPLIED:
                _move(session, payment, BankNetOperation.REFUSE, at, result.response_detail)
            return PaymentView.of(payment)
        if result.amount is not None and result.amount != payment.amount:
            log.error("payment %s: the bank's amount does not match", payment.id)
            raise InternalError()
        if status is BankNetStatus.PAID:
            return PaymentView.of(payment)
        if row.paid_payment_id is not None:
            log.warning(
                "payment %s: paid at the bank after payment %s", payment.id, row.paid_payment_id
            )
        operation = (
            BankNetOperation.PAY if status is BankNetStatus.APPLIED else BankNetOperation.PAY_LATE
        )
        _clear(session, row, payment, operation, at.merchant, at)
        return PaymentView.of(payment)


def abandon(core: Core, merchant: MerchantRef, payment_id: int) -> PaymentView:
    """The buyer left the bank's page: recorded in the history; the payment stays open."""
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        payment = later.locked(session, merchant, payment_id, PAYMENT_TYPE)
        if payment.status == BankNetStatus.APPLIED:
            _move(session, payment, BankNetOperation.ABANDON, at)
        return PaymentView.of(payment)


def expire_due(core: Core) -> int:
    """10 → 15 for every bank net payment two bank business days old and unpaid."""
    return later.expire_due(core, payment_type=PAYMENT_TYPE)


def _lock_request_of(session: Session, merchant: MerchantRef, payment_id: int) -> BankNetRequest:
    """The payment's application, locked first: one payment of an application is cleared at a
    time (always application, then payment, so two clearings never deadlock)."""
    # Columns only: the payment row itself must first be loaded under its lock, not before it
    # (the session would keep the unlocked copy's status).
    found = session.execute(
        select(Payment.merchant_id, Payment.payment_type, Payment.details).where(
            Payment.id == payment_id
        )
    ).one_or_none()
    if found is None or found.merchant_id != merchant.id or found.payment_type != PAYMENT_TYPE:
        raise NotFound("2006")
    return locate_request(session, merchant, int(found.details["request_id"]), lock=True)


def _clear(
    session: Session,
    row: BankNetRequest,
    payment: Payment,
    operation: BankNetOperation,
    paid_at: datetime,
    at: later.Now,
) -> None:
    if row.paid_payment_id is None:
        row.paid_payment_id = payment.id
    payment.captured_at = at.merchant
    payment.details = {**payment.details, "user_payment_date": paid_at.isoformat()}
    _move(session, payment, operation, at)


def _move(
    session: Session,
    payment: Payment,
    operation: BankNetOperation,
    at: later.Now,
    detail: str = "",
) -> None:
    target = TRANSITIONS.get((BankNetStatus(payment.status), operation))
    if target is None:
        raise InvalidState("2004")
    change_status(
        session,
        payment,
        target.value,
        operation=operation.value,
        now=at.merchant,
        notify_at=at.real,
        response_detail=detail,
    )
