"""Fees (手数料): what Kessai charges a merchant, and when.

Per merchant and method — and per card brand for cards, since acquirers price brands apart
(a brand's schedule wins over the card schedule for every brand, brand ""): a rate in 0.01 % steps
and a fixed yen amount per sale, effective from a date. Per merchant: a bank transfer fee
(振込手数料) charged on each statement that pays out, and a monthly fixed fee (月額固定費) charged
on the first statement closed in each calendar month. Every change is a new row effective from its
date; the latest row in effect on an event's date applies, so a change never touches a statement
already closed.

A sale is charged `percent_of(amount, rate) + fixed`; a refund gives back the rate part of the
refunded amount at the rate of its sale's date (the fixed fee is kept: the sale was processed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.merchants.commands import KNOWN_METHODS, get_merchant
from kessai.core.statements.models import FeeSchedule, PayoutFeeTerms
from kessai.kit.errors import InvalidRequest
from kessai.kit.money import BASIS_POINTS, percent_of

CARD = "02"
MAX_BRAND = 16


@dataclass(frozen=True, slots=True)
class Fee:
    rate_bp: int = 0
    fixed: int = 0

    def on_sale(self, amount: int) -> int:
        return percent_of(amount, self.rate_bp) + self.fixed

    def on_refund(self, amount: int) -> int:
        """What a refund of `amount` gives back: the rate part only."""
        return percent_of(amount, self.rate_bp)

    @property
    def percent(self) -> str:
        return f"{Decimal(self.rate_bp) / 100:.2f}"


@dataclass(frozen=True, slots=True)
class PayoutFees:
    transfer_fee: int = 0
    monthly_fee: int = 0


def parse_rate(text: str) -> int:
    """A percentage in 0.01 % steps ("3.25") as basis points (325); anything else is refused."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidRequest(message=f"rate {text!r} is not a percentage like 3.25") from None
    bp = value * 100
    if not value.is_finite() or bp != bp.to_integral_value() or not 0 <= bp < BASIS_POINTS:
        raise InvalidRequest(message=f"rate {text!r}: 0 to 99.99 %, in steps of 0.01 %")
    return int(bp)


def set_fee(
    session: Session,
    merchant_id: int,
    payment_type: str,
    *,
    rate_bp: int | None,
    fixed: int | None,
    effective_from: date,
    now: datetime,
    brand: str = "",
) -> Fee:
    """Record the method's (brand's) fee from `effective_from` on; a part not given stays as it is
    in effect that day."""
    get_merchant(session, merchant_id)
    if payment_type not in KNOWN_METHODS:
        raise InvalidRequest(
            message=f"unknown method {payment_type!r} ({', '.join(KNOWN_METHODS)})"
        )
    brand = brand.strip().upper()
    if brand and (payment_type != CARD or len(brand) > MAX_BRAND):
        raise InvalidRequest(message="a brand is for card fees (--method 02) only")
    current = FeeBook.load(session, merchant_id).fee(payment_type, brand, effective_from)
    fee = Fee(
        rate_bp=current.rate_bp if rate_bp is None else rate_bp,
        fixed=current.fixed if fixed is None else fixed,
    )
    if fee.fixed < 0 or not 0 <= fee.rate_bp < BASIS_POINTS:
        raise InvalidRequest(message="fees are 0 or more")
    session.add(
        FeeSchedule(
            merchant_id=merchant_id,
            payment_type=payment_type,
            brand=brand,
            rate_bp=fee.rate_bp,
            fixed=fee.fixed,
            effective_from=effective_from,
            created_at=now,
        )
    )
    return fee


def set_payout_fees(
    session: Session,
    merchant_id: int,
    *,
    transfer_fee: int | None,
    monthly_fee: int | None,
    effective_from: date,
    now: datetime,
) -> PayoutFees:
    """Record the transfer and monthly fees from `effective_from` on (a part not given stays)."""
    get_merchant(session, merchant_id)
    current = FeeBook.load(session, merchant_id).payout_fees(effective_from)
    fees = PayoutFees(
        transfer_fee=current.transfer_fee if transfer_fee is None else transfer_fee,
        monthly_fee=current.monthly_fee if monthly_fee is None else monthly_fee,
    )
    if fees.transfer_fee < 0 or fees.monthly_fee < 0:
        raise InvalidRequest(message="fees are 0 or more")
    session.add(
        PayoutFeeTerms(
            merchant_id=merchant_id,
            transfer_fee=fees.transfer_fee,
            monthly_fee=fees.monthly_fee,
            effective_from=effective_from,
            created_at=now,
        )
    )
    return fees


@dataclass(frozen=True)
class FeeBook:
    """A merchant's whole fee history, read once (a close prices every event from it)."""

    schedules: Sequence[FeeSchedule]
    terms: Sequence[PayoutFeeTerms]

    @classmethod
    def load(cls, session: Session, merchant_id: int) -> FeeBook:
        schedules = session.scalars(
            select(FeeSchedule)
            .where(FeeSchedule.merchant_id == merchant_id)
            .order_by(FeeSchedule.effective_from, FeeSchedule.id)
        )
        terms = session.scalars(
            select(PayoutFeeTerms)
            .where(PayoutFeeTerms.merchant_id == merchant_id)
            .order_by(PayoutFeeTerms.effective_from, PayoutFeeTerms.id)
        )
        return cls(list(schedules), list(terms))

    def fee(self, payment_type: str, brand: str, on: date) -> Fee:
        """The fee in effect on `on`: the brand's schedule if it has one, else the method's."""
        for wanted in (brand, "") if brand else ("",):
            rows = [
                s
                for s in self.schedules
                if s.payment_type == payment_type and s.brand == wanted and s.effective_from <= on
            ]
            if rows:
                return Fee(rows[-1].rate_bp, rows[-1].fixed)
        return Fee()

    def payout_fees(self, on: date) -> PayoutFees:
        rows = [t for t in self.terms if t.effective_from <= on]
        return PayoutFees(rows[-1].transfer_fee, rows[-1].monthly_fee) if rows else PayoutFees()
