"""What methods paid later (ATM, CVS…) share: a deadline, a payment created with the numbers the
buyer pays with, and expiry closed per payment under its row lock, after re-checking — so a payment
paid before its deadline is never expired, whichever of the two arrives first.

Time is the merchant's (`Now`): a sandbox merchant's test clock moves deadlines, payment dates and
expiry together, while the notices it causes still go out in real time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from kessai.core.context import Core, MerchantRef
from kessai.core.payments import repository, tables
from kessai.core.payments.models import Payment
from kessai.core.payments.settle import change_status
from kessai.core.payments.views import PaymentView
from kessai.kit.clock import JST, as_utc
from kessai.kit.errors import InvalidRequest, InvalidState, NotFound

APPLIED = "10"
EXPIRED = "12"
# The status an unpaid payment takes at its deadline where it is not 12: 申込中断 for bank net (05)
# and for a carrier payment (06) the buyer never approved in time.
EXPIRED_STATUS: dict[str, str] = {"05": "15", "06": "15"}
# The methods with a deadline for the buyer to pay (for a carrier, to approve): every method but
# card. Only these expire here; a card payment's 10 is not an unpaid bill and has no 12.
PAID_LATER = tuple(t for t in tables.PAYMENT_TYPES if t != tables.CARD)
MAX_LIMIT_DAYS = 60


@dataclass(frozen=True, slots=True)
class Now:
    """The merchant's time (the sandbox test clock included) and real time."""

    merchant: datetime
    real: datetime


def now(core: Core, merchant: MerchantRef) -> Now:
    return Now(merchant=core.now_for(merchant), real=core.clock.now())


def move(
    session: Session,
    payment: Payment,
    transitions: Mapping[Any, str],  # (status, operation) → status
    operation: str,
    at: Now,
) -> None:
    """Apply `operation` by a method's transition table ((status, operation) → status, StrEnums
    as the states/ tables write them); 2004 when the table has no such move."""
    target = transitions.get((payment.status, operation))
    if target is None:
        raise InvalidState("2004")
    set_status(session, payment, str(target), operation=str(operation), at=at)


def set_status(session: Session, payment: Payment, status: str, *, operation: str, at: Now) -> None:
    """`change_status` on the merchant's time, its notice due for delivery in real time."""
    change_status(session, payment, status, operation=operation, now=at.merchant, notify_at=at.real)


def deadline(now: datetime, limit_days: int, max_days: int = MAX_LIMIT_DAYS) -> datetime:
    """23:59:59 Japan time, `limit_days` days from today (0 = today); P012 outside 0–max."""
    if not 0 <= limit_days <= max_days:
        raise InvalidRequest("P012")
    return end_of_day(jst_date(now) + timedelta(days=limit_days))


def jst_date(moment: datetime) -> date:
    """The day `moment` falls on in Japan."""
    return as_utc(moment).astimezone(JST).date()


def end_of_day(day: date) -> datetime:
    """23:59:59 Japan time on `day`: when a deadline of that day passes."""
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
    institution_code: str = "",
    institution_name: str = "",
    status: str = APPLIED,
    operation: str = "apply",
) -> PaymentView:
    """Write the payment (申込済, or the `status` a payment first seen at the institution starts
    in) with its numbers; one transaction, the notice included. `institution_code`/`_name`: which
    institution of the method takes it (carrier: its type)."""
    with core.sessions.begin() as session:
        payment = add(
            session,
            merchant,
            now(core, merchant),
            payment_type=payment_type,
            trading_id=trading_id,
            amount=amount,
            site_id=site_id,
            due=due,
            details=details,
            institution_code=institution_code,
            institution_name=institution_name,
            status=status,
            operation=operation,
        )
        return PaymentView.of(payment)


def add(
    session: Session,
    merchant: MerchantRef,
    at: Now,
    *,
    payment_type: str,
    trading_id: str,
    amount: int,
    site_id: str,
    due: datetime | None,
    details: dict[str, Any],
    status: str = APPLIED,
    operation: str = "apply",
    paid_at: datetime | None = None,
    institution_ref: str | None = None,
    institution_code: str = "",
    institution_name: str = "",
) -> Payment:
    """`create` inside the caller's transaction, for a method that writes more in the same one
    (bank net its application, a virtual account its account). `status`/`paid_at`: a payment that
    arrives already paid (a transfer nobody claimed, 消込済 at once)."""
    payment = Payment(
        merchant_id=merchant.id,
        trading_id=trading_id,
        site_id=site_id,
        payment_type=payment_type,
        amount=amount,
        status=status,
        due_at=due,
        details=details,
        captured_at=paid_at,
        institution_ref=institution_ref,
        institution_code=institution_code,
        institution_name=institution_name,
        created_at=at.merchant,
        updated_at=at.merchant,
    )
    session.add(payment)
    session.flush()
    change_status(
        session,
        payment,
        status,
        operation=operation,
        now=at.merchant,
        initial=True,
        notify_at=at.real,
    )
    return payment


def page_token(secret: bytes, purpose: str, subject: int | str) -> str:
    """The unguessable part of a buyer page's URL for a payment (or another id: a 3-D Secure
    authentication), keyed by the server secret, so that ids cannot be walked; `purpose` keeps
    one page's token from opening another."""
    message = f"{purpose}:{subject}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def page_payment(
    core: Core, purpose: str, payment_type: str, payment_id: int, token: str
) -> PaymentView:
    """The payment a buyer page shows; NotFound for a wrong token or another method."""
    if not hmac.compare_digest(page_token(core.secret, purpose, payment_id), token):
        raise NotFound("2006")
    with core.sessions() as session:
        payment = session.get(Payment, payment_id)
        if payment is None or payment.payment_type != payment_type:
            raise NotFound("2006")
        return PaymentView.of(payment)


def settle_report(
    core: Core,
    merchant: MerchantRef,
    payment_id: int,
    *,
    payment_type: str,
    transitions: Mapping[Any, str],
    confirmed: bool,
) -> PaymentView:
    """A preliminary payment report (速報, 43) settled by the chain or agency: confirmed → 40, paid
    on the merchant's today; withdrawn → 61. The method's table names both moves `confirm` and
    `cancel_report`."""
    with core.sessions.begin() as session:
        at = now(core, merchant)
        payment = locked(session, merchant, payment_id, payment_type)
        if confirmed:
            payment.captured_at = at.merchant
        move(session, payment, transitions, "confirm" if confirmed else "cancel_report", at)
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


def expire_if_due(session: Session, payment: Payment, at: Now) -> bool:
    """Expire `payment` (already locked) if it is still unpaid and its deadline has passed, and no
    operation on it is waiting for an institution's answer (a carrier approval in flight)."""
    if payment.payment_type not in PAID_LATER or payment.status != APPLIED:
        return False
    if payment.due_at is None or payment.due_at >= at.merchant:
        return False
    if repository.open_operation(session, payment.id) is not None:
        return False
    expired = EXPIRED_STATUS.get(payment.payment_type, EXPIRED)
    set_status(session, payment, expired, operation="expire", at=at)
    return True


def expire_now(
    core: Core, merchant: MerchantRef, payment_id: int, payment_type: str
) -> PaymentView:
    """The status-simulation tool's "deadline passed" move: an unpaid payment expires now, its
    deadline moved to now; a payment no longer unpaid → 2004."""
    with core.sessions.begin() as session:
        at = now(core, merchant)
        payment = locked(session, merchant, payment_id, payment_type)
        if payment.status != APPLIED:
            raise InvalidState("2004")
        payment.due_at = at.merchant
        expired = EXPIRED_STATUS.get(payment.payment_type, EXPIRED)
        set_status(session, payment, expired, operation="expire", at=at)
        return PaymentView.of(payment)


def expire_due(
    core: Core,
    *,
    payment_type: str | None = None,
    batch: int = 500,
    merchant_id: int | None = None,
) -> int:
    """Expire every unpaid payment (of `payment_type`, or of every method paid later; of one
    merchant when `merchant_id` is given) past its deadline, on each merchant's own time, one by
    one, each under its row lock."""

    def find(
        session: Session, at: datetime, merchant_id: int | None, exclude: set[int]
    ) -> list[int]:
        return repository.due_unpaid(
            session,
            payment_types=(payment_type,) if payment_type else PAID_LATER,
            now=at,
            limit=batch,
            merchant_id=merchant_id,
            exclude=exclude,
        )

    moved = 0
    for payment_id, at in due_candidates(core, find, merchant_id=merchant_id):
        with core.sessions.begin() as session:
            moved += expire_if_due(session, repository.lock_payment(session, payment_id), at)
    return moved


# (session, the merchants' time, one merchant or None for all, merchants to leave out) → ids.
Finder = Callable[[Session, datetime, int | None, set[int]], list[int]]


def apply_each(
    core: Core,
    candidates: Mapping[int, Now],
    apply: Callable[[Session, Payment, Now], bool],
) -> int:
    """Apply a timed move to each candidate in its own transaction, under its row lock, skipping a
    payment whose operation is still with the institution (its answer decides first); how many
    payments moved."""
    moved = 0
    for payment_id, at in candidates.items():
        with core.sessions.begin() as session:
            payment = repository.lock_payment(session, payment_id)
            if repository.open_operation(session, payment_id) is None:
                moved += apply(session, payment, at)
    return moved


def due_candidates(
    core: Core, find: Finder, *, merchant_id: int | None = None
) -> list[tuple[int, Now]]:
    """The payments `find` says are due, each with the time of its merchant: real time for most,
    the test clock for sandbox merchants whose clock runs ahead (asked one merchant at a time).
    With `merchant_id`, only that merchant's (a test clock moving closes its own payments only)."""
    real = core.clock.now()
    with core.sessions() as session:
        offsets = repository.clock_offsets(session)
        if merchant_id is not None:
            at = Now(merchant=real + offsets.get(merchant_id, timedelta(0)), real=real)
            return [(pid, at) for pid in find(session, at.merchant, merchant_id, set())]
        found = [(pid, Now(real, real)) for pid in find(session, real, None, set(offsets))]
        for owner, offset in offsets.items():
            at = Now(merchant=real + offset, real=real)
            found += [(pid, at) for pid in find(session, at.merchant, owner, set())]
    return found
