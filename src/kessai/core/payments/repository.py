"""Every SQL statement of the payments area."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.merchants.models import Merchant
from kessai.core.payments.models import Payment, PaymentOperation
from kessai.kit.errors import InvalidRequest, NotFound

OPEN_STATUSES = ("sending", "unknown")


def lock_payment(session: Session, payment_id: int) -> Payment:
    """The payment, locked for this transaction (row lock on PostgreSQL; SQLite's writer lock is
    already held since BEGIN IMMEDIATE)."""
    payment = session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
    if payment is None:
        raise NotFound("2006")
    return payment


def merchant_of(session: Session, merchant_id: int) -> Merchant:
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("2006")
    return merchant


def payment_type_of(session: Session, payment_id: int) -> str:
    payment_type = session.scalar(select(Payment.payment_type).where(Payment.id == payment_id))
    if payment_type is None:
        raise NotFound("2006")
    return payment_type


def find_payment_id(
    session: Session,
    *,
    merchant_id: int,
    payment_id: str,
    trading_id: str,
    payment_type: str = "",
    missing_code: str = "2006",
) -> int:
    """Resolve a follow-up telegram's payment by payment_id or trading_id (§1.2)."""
    query = select(Payment.id, Payment.trading_id).where(Payment.merchant_id == merchant_id)
    if payment_id:
        query = query.where(Payment.id == int(payment_id))
    elif trading_id:
        query = query.where(Payment.trading_id == trading_id)
    else:
        raise InvalidRequest("P005", field="payment_id")
    if payment_type:
        query = query.where(Payment.payment_type == payment_type)
    rows = session.execute(query.limit(2)).all()
    if not rows:
        raise NotFound(missing_code)
    if len(rows) > 1:
        raise InvalidRequest("2005")
    found_id, found_trading = rows[0]
    if payment_id and trading_id and found_trading != trading_id:
        raise NotFound(missing_code)  # both given: both must match
    return int(found_id)


def find_for_inquiry(
    session: Session, *, merchant_id: int, payment_id: str, trading_id: str, payment_type: str
) -> int:
    """094's payment. By payment_id as a follow-up finds it. By trading_id alone, the newest
    payment of that trading_id: PAYGENT does not keep trading_ids unique, and a merchant starts a
    new payment after a failed one (or a correction makes one), so the newest is the order's
    current payment. 13002 only when payments of several methods share it and no payment_type
    picks one; 13001 when none."""
    if payment_id:
        return find_payment_id(
            session,
            merchant_id=merchant_id,
            payment_id=payment_id,
            trading_id=trading_id,
            payment_type=payment_type,
            missing_code="13001",
        )
    if not trading_id:
        raise InvalidRequest("P005", field="payment_id")
    query = select(Payment.id, Payment.payment_type).where(
        Payment.merchant_id == merchant_id, Payment.trading_id == trading_id
    )
    if payment_type:
        query = query.where(Payment.payment_type == payment_type)
    rows = session.execute(query.order_by(Payment.id.desc())).all()
    if not rows:
        raise NotFound("13001")
    if len({found_type for _, found_type in rows}) > 1:
        raise InvalidRequest("13002")
    return int(rows[0][0])


def newest_related(session: Session, payment_id: int) -> Payment | None:
    """The newest payment made from `payment_id` (a correction's new payment)."""
    return session.scalar(
        select(Payment)
        .where(Payment.related_payment_id == payment_id)
        .order_by(Payment.id.desc())
        .limit(1)
    )


def open_operation(session: Session, payment_id: int) -> PaymentOperation | None:
    return session.scalar(
        select(PaymentOperation).where(
            PaymentOperation.payment_id == payment_id,
            PaymentOperation.status.in_(OPEN_STATUSES),
        )
    )


def trading_id_in_flight(session: Session, *, merchant_id: int, trading_id: str) -> bool:
    """Whether a payment with this trading_id has an operation whose answer is not settled yet."""
    return bool(
        session.scalar(
            select(PaymentOperation.id)
            .join(Payment, Payment.id == PaymentOperation.payment_id)
            .where(
                Payment.merchant_id == merchant_id,
                Payment.trading_id == trading_id,
                PaymentOperation.status.in_(OPEN_STATUSES),
            )
            .limit(1)
        )
    )


def latest_card_payment_by_trading_id(
    session: Session, *, merchant_id: int, trading_id: str
) -> Payment | None:
    """For ref_trading_id: the newest card payment of that trading_id that reached an acquirer."""
    return session.scalar(
        select(Payment)
        .where(
            Payment.merchant_id == merchant_id,
            Payment.trading_id == trading_id,
            Payment.payment_type == "02",
            Payment.status.not_in(("10", "11")),
            Payment.vault_card_id.is_not(None),
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )


def unsettled_operations(
    session: Session, *, older_than: datetime, limit: int, payment_type: str
) -> list[tuple[int, int, datetime]]:
    """Open operations of `payment_type` payments untouched since `older_than`: (payment_id,
    attempts, updated_at), oldest first, for the reconciler to choose from by its back-off
    schedule."""
    rows = session.execute(
        select(PaymentOperation.payment_id, PaymentOperation.attempts, PaymentOperation.updated_at)
        .join(Payment, Payment.id == PaymentOperation.payment_id)
        .where(
            PaymentOperation.status.in_(OPEN_STATUSES),
            PaymentOperation.updated_at <= older_than,
            Payment.payment_type == payment_type,
        )
        .order_by(PaymentOperation.updated_at)
        .limit(limit)
    ).all()
    return [(int(pid), int(attempts), updated) for pid, attempts, updated in rows]


def due_unpaid(
    session: Session,
    *,
    payment_types: tuple[str, ...],
    now: datetime,
    limit: int,
    merchant_id: int | None = None,
    exclude: set[int] | None = None,
) -> list[int]:
    """Payments of `payment_types` still 申込済 whose deadline has passed (of one merchant, or of
    all but `exclude`)."""
    query = select(Payment.id).where(
        Payment.status == "10", Payment.due_at < now, Payment.payment_type.in_(payment_types)
    )
    if merchant_id is not None:
        query = query.where(Payment.merchant_id == merchant_id)
    if exclude:
        query = query.where(Payment.merchant_id.not_in(exclude))
    return list(session.scalars(query.limit(limit)))


def clock_offsets(session: Session) -> dict[int, timedelta]:
    """Sandbox merchants whose test clock runs ahead, and by how much."""
    rows = session.execute(
        select(Merchant.id, Merchant.clock_offset_seconds).where(Merchant.clock_offset_seconds != 0)
    )
    return {merchant_id: timedelta(seconds=seconds) for merchant_id, seconds in rows}


def due_for_expiry(
    session: Session,
    *,
    status: str,
    column_before: datetime,
    limit: int,
    payment_type: str,
    merchant_id: int | None = None,
    exclude: set[int] | None = None,
) -> list[int]:
    """Card payments in `status` authorised (20) or captured (40) before `column_before` (of one
    merchant, or of all but `exclude`)."""
    column = Payment.authorized_at if status == "20" else Payment.captured_at
    query = select(Payment.id).where(
        Payment.payment_type == payment_type, Payment.status == status, column <= column_before
    )
    if merchant_id is not None:
        query = query.where(Payment.merchant_id == merchant_id)
    if exclude:
        query = query.where(Payment.merchant_id.not_in(exclude))
    return list(session.scalars(query.limit(limit)))


def due_timed(
    session: Session,
    *,
    payment_type: str,
    status: str,
    since: str,
    before: datetime,
    institution_codes: Collection[str],
    limit: int,
    merchant_id: int | None = None,
    exclude: set[int] | None = None,
) -> list[int]:
    """Payments in `status` at one of `institution_codes` whose `since` time (authorized_at,
    captured_at, cancelled_at) is at or before `before`: a move time makes is due on them."""
    column = getattr(Payment, since)
    query = select(Payment.id).where(
        Payment.payment_type == payment_type,
        Payment.status == status,
        Payment.institution_code.in_(list(institution_codes)),
        column <= before,
    )
    if merchant_id is not None:
        query = query.where(Payment.merchant_id == merchant_id)
    if exclude:
        query = query.where(Payment.merchant_id.not_in(exclude))
    return list(session.scalars(query.limit(limit)))
