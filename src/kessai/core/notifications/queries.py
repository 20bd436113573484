"""Reading notices and their push attempts for people (the operator CLI, the console)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.notifications.models import Notice, NoticeAttempt

DELIVERY_STATUSES = ("pending", "delivering", "delivered", "failed", "skipped")


@dataclass(frozen=True, slots=True)
class AttemptView:
    """One push attempt: what the merchant's server did with it."""

    attempt_no: int
    started_at: datetime
    duration_ms: int
    outcome: str
    http_status: int | None
    response_excerpt: str
    error: str


@dataclass(frozen=True, slots=True)
class NoticeView:
    """A notice as the operator sees it, with its attempts when they were asked for."""

    payment_notice_id: int
    payment_id: int
    payment_status: str
    site_id: str
    delivery_status: str
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str
    created_at: datetime
    # Where it is pushed when not to the merchant's notification URL (a link request's inform_url).
    push_url: str | None = None
    attempt_log: tuple[AttemptView, ...] = ()


def list_notices(
    session: Session,
    merchant_id: int,
    *,
    payment_id: int | None = None,
    delivery_status: str | None = None,
    with_attempts: bool = False,
) -> list[NoticeView]:
    """A merchant's payment notices by number, optionally of one payment or in one delivery status
    (file payment notices are the files' own: `kessai files show`)."""
    query = select(Notice).where(Notice.merchant_id == merchant_id, Notice.kind == "payment")
    if payment_id is not None:
        query = query.where(Notice.payment_id == payment_id)
    if delivery_status is not None:
        query = query.where(Notice.delivery_status == delivery_status)
    notices = list(session.scalars(query.order_by(Notice.payment_notice_id)))
    attempts = _attempts(session, [n.id for n in notices]) if with_attempts else {}
    return [_view(notice, tuple(attempts.get(notice.id, ()))) for notice in notices]


def _attempts(session: Session, notice_ids: list[int]) -> dict[int, list[AttemptView]]:
    by_notice: dict[int, list[AttemptView]] = defaultdict(list)
    rows = session.scalars(
        select(NoticeAttempt)
        .where(NoticeAttempt.notice_id.in_(notice_ids))
        .order_by(NoticeAttempt.notice_id, NoticeAttempt.attempt_no)
    )
    for row in rows:
        by_notice[row.notice_id].append(
            AttemptView(
                attempt_no=row.attempt_no,
                started_at=row.started_at,
                duration_ms=row.duration_ms,
                outcome=row.outcome,
                http_status=row.http_status,
                response_excerpt=row.response_excerpt,
                error=row.error,
            )
        )
    return by_notice


def _view(notice: Notice, attempt_log: tuple[AttemptView, ...]) -> NoticeView:
    return NoticeView(
        payment_notice_id=notice.payment_notice_id,
        payment_id=notice.payment_id or 0,
        payment_status=notice.payment_status,
        site_id=notice.site_id,
        delivery_status=notice.delivery_status,
        attempts=notice.attempts,
        next_attempt_at=notice.next_attempt_at,
        delivered_at=notice.delivered_at,
        failed_at=notice.failed_at,
        last_error=notice.last_error,
        created_at=notice.created_at,
        push_url=notice.push_url,
        attempt_log=attempt_log,
    )
