"""The 091 difference inquiry (決済情報差分照会): merchants pulling notices, and the purge of old ones.

An un-numbered call returns the merchant's next notice after its read cursor (one cursor per
merchant and site) and moves the cursor; a numbered call re-reads that notice and moves nothing
(paygent-protocol.md §1.5 091). Two un-numbered calls for the same cursor at once: the second
answers `9004` (retry) rather than wait — on PostgreSQL the cursor row is locked NOWAIT; on SQLite
the single writer lock (`BEGIN IMMEDIATE`) serialises them instead.

Numbers are handed out without gaps (`outbox.record_change`), so a number below the next notice
that no longer exists for any site was purged: such an answer says so with success_code 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kessai.core.context import Core, MerchantRef
from kessai.core.notifications.models import Notice, NoticeAttempt, NoticeReadCursor
from kessai.kit.errors import InProgress

# PostgreSQL's lock_not_available, raised by FOR UPDATE NOWAIT on a row another caller holds.
_LOCK_NOT_AVAILABLE = "55P03"
# Protocol minimum (§1.5 091): a notice stays readable for 7 days.
MIN_KEEP_DAYS = 7
# Only notices the push is done with may go; pending/delivering ones are still being worked on.
PURGEABLE_STATUSES = ("delivered", "skipped", "failed")
_PURGE_BATCH = 500


class SuccessCode(StrEnum):
    """091 `success_code`."""

    DATA = "0"
    NO_DATA = "1"
    DATA_AFTER_PURGE = "2"  # data, but older unread notices were purged: numbering jumps


SUCCESS_DETAILS: dict[SuccessCode, str] = {
    SuccessCode.DATA: "",
    SuccessCode.NO_DATA: "照会対象の差分データはありません。",
    SuccessCode.DATA_AFTER_PURGE: "保存期間を過ぎた差分データは削除されています。",
}


@dataclass(frozen=True, slots=True)
class NoticeAnswer:
    """One 091 answer: the success code and the notice's fields (empty when there is none)."""

    success_code: SuccessCode
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def success_detail(self) -> str:
        return SUCCESS_DETAILS[self.success_code]


def next_notice(
    core: Core, merchant: MerchantRef, *, site_id: str, payment_notice_id: int | None
) -> NoticeAnswer:
    """Answer a 091: re-read notice `payment_notice_id`, or read the next one and move the cursor.

    `site_id` "" means payments made without a site. Raises InProgress 9004 when another
    un-numbered read of the same cursor is running (PostgreSQL).
    """
    if payment_notice_id is not None:
        return _reread(core, merchant.id, site_id, payment_notice_id)
    try:
        with core.sessions.begin() as session:
            return _read_next(session, merchant.id, site_id)
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise InProgress("9004") from error
        raise


def _reread(core: Core, merchant_id: int, site_id: str, number: int) -> NoticeAnswer:
    with core.sessions() as session:
        notice = session.scalar(
            _site_notices(merchant_id, site_id).where(Notice.payment_notice_id == number)
        )
    if notice is None:  # never existed, another site's, or purged
        return NoticeAnswer(SuccessCode.NO_DATA)
    return NoticeAnswer(SuccessCode.DATA, _as_strings(notice.fields))


def _read_next(session: Session, merchant_id: int, site_id: str) -> NoticeAnswer:
    cursor = _lock_cursor(session, merchant_id, site_id)
    notice = session.scalar(
        _site_notices(merchant_id, site_id)
        .where(Notice.payment_notice_id > cursor.last_notice_id)
        .order_by(Notice.payment_notice_id)
        .limit(1)
    )
    if notice is None:
        return NoticeAnswer(SuccessCode.NO_DATA)
    purged = _numbers_missing(session, merchant_id, cursor.last_notice_id, notice.payment_notice_id)
    cursor.last_notice_id = notice.payment_notice_id
    code = SuccessCode.DATA_AFTER_PURGE if purged else SuccessCode.DATA
    return NoticeAnswer(code, _as_strings(notice.fields))


def _site_notices(merchant_id: int, site_id: str) -> Select[Notice]:
    # A file payment notice is pushed only; 091 reads payment notices.
    return select(Notice).where(
        Notice.merchant_id == merchant_id, Notice.site_id == site_id, Notice.kind == "payment"
    )


def _lock_cursor(session: Session, merchant_id: int, site_id: str) -> NoticeReadCursor:
    """The cursor row, created at 0 if new, locked NOWAIT (FOR UPDATE is not rendered on SQLite)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(NoticeReadCursor)
        .values(merchant_id=merchant_id, site_id=site_id, last_notice_id=0)
        .on_conflict_do_nothing()
    )
    return session.scalars(
        select(NoticeReadCursor)
        .where(NoticeReadCursor.merchant_id == merchant_id, NoticeReadCursor.site_id == site_id)
        .with_for_update(nowait=True)
    ).one()


def _numbers_missing(session: Session, merchant_id: int, after: int, before: int) -> bool:
    """Whether a number strictly between `after` and `before` is gone from every site (purged)."""
    present = session.scalar(
        select(func.count())
        .select_from(Notice)
        .where(
            Notice.merchant_id == merchant_id,
            Notice.payment_notice_id > after,
            Notice.payment_notice_id < before,
        )
    )
    return (present or 0) < before - after - 1


def _as_strings(fields: Mapping[str, object]) -> dict[str, str]:
    return {name: "" if value is None else str(value) for name, value in fields.items()}


def purge_old_notices(core: Core, *, keep_days: int) -> int:
    """Delete notices older than `keep_days` whose push is over (delivered, skipped, failed),
    with their delivery attempts; returns how many notices went. Raises ValueError below 7 days."""
    if keep_days < MIN_KEEP_DAYS:
        raise ValueError(f"notices must be kept at least {MIN_KEEP_DAYS} days, not {keep_days}")
    cutoff = core.clock.now() - timedelta(days=keep_days)
    with core.sessions.begin() as session:
        ids = list(
            session.scalars(
                select(Notice.id).where(
                    Notice.created_at < cutoff, Notice.delivery_status.in_(PURGEABLE_STATUSES)
                )
            )
        )
        for start in range(0, len(ids), _PURGE_BATCH):
            batch = ids[start : start + _PURGE_BATCH]
            session.execute(delete(NoticeAttempt).where(NoticeAttempt.notice_id.in_(batch)))
            session.execute(delete(Notice).where(Notice.id.in_(batch)))
    return len(ids)
