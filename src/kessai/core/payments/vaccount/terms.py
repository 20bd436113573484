"""A merchant's virtual-account contract terms: how short a transfer may be and still clear in full
(clear_detail 02), and how long after the deadline a late transfer still clears (the grace before
16). Set by the operator (`kessai va terms`); merchants without a row get the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from kessai.core.payments.vaccount.models import VirtualAccountTerms
from kessai.kit.errors import InvalidRequest

DEFAULT_SHORT_TOLERANCE = 0  # yen
DEFAULT_GRACE_DAYS = 14
MAX_GRACE_DAYS = 365


@dataclass(frozen=True, slots=True)
class Terms:
    merchant_id: int
    short_tolerance: int = DEFAULT_SHORT_TOLERANCE
    grace_days: int = DEFAULT_GRACE_DAYS


def terms_of(session: Session, merchant_id: int) -> Terms:
    row = session.get(VirtualAccountTerms, merchant_id)
    if row is None:
        return Terms(merchant_id)
    return Terms(merchant_id, row.short_tolerance, row.grace_days)


def set_terms(
    session: Session,
    merchant_id: int,
    *,
    now: datetime,
    short_tolerance: int | None = None,
    grace_days: int | None = None,
) -> Terms:
    """Change what is given; claims already made keep the grace they were made with."""
    if short_tolerance is not None and short_tolerance < 0:
        raise InvalidRequest(message="the short tolerance is a number of yen, 0 or more")
    if grace_days is not None and not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise InvalidRequest(message=f"grace days must be 0–{MAX_GRACE_DAYS}")
    row = session.get(VirtualAccountTerms, merchant_id)
    if row is None:
        row = VirtualAccountTerms(
            merchant_id=merchant_id,
            short_tolerance=DEFAULT_SHORT_TOLERANCE,
            grace_days=DEFAULT_GRACE_DAYS,
        )
        session.add(row)
    if short_tolerance is not None:
        row.short_tolerance = short_tolerance
    if grace_days is not None:
        row.grace_days = grace_days
    row.updated_at = now
    session.flush()
    return Terms(merchant_id, row.short_tolerance, row.grace_days)
