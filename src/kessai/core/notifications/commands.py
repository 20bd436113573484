"""Operator commands on notices: sending them again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from kessai.core.notifications.models import Notice
from kessai.kit.errors import InvalidRequest, NotFound


def resend(
    session: Session,
    merchant_id: int,
    *,
    now: datetime,
    payment_notice_id: int | None = None,
    failed: bool = False,
) -> int:
    """Queue notices for a fresh push (再送): notice `payment_notice_id`, or every failed one.

    Attempts start again from 0 and any lease is dropped; returns how many notices were queued.
    Raises NotFound for an unknown notice number, InvalidRequest unless exactly one choice is made.
    """
    if (payment_notice_id is None) == (not failed):
        raise InvalidRequest(message="choose the notices: --notice N or --failed (one of them)")
    query = update(Notice).where(Notice.merchant_id == merchant_id)
    if payment_notice_id is not None:
        query = query.where(Notice.payment_notice_id == payment_notice_id)
    else:
        query = query.where(Notice.delivery_status == "failed")
    result = session.execute(
        query.values(
            delivery_status="pending",
            next_attempt_at=now,
            attempts=0,
            failed_at=None,
            lease_owner=None,
            lease_until=None,
        )
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if payment_notice_id is not None and count == 0:
        raise NotFound(
            message=f"merchant {merchant_id} has no notice {payment_notice_id}"
            " (see: kessai notices list --merchant ID)"
        )
    return count
