"""Push delivery state of notices (§1.6, issue #4): claiming due notices and recording attempts.

These functions are the only SQL writers of the delivery columns. Each runs one short transaction;
the HTTP call happens between them, outside any transaction (the worker's job), so no lock is ever
held across the network:

1. `claim_due`: rows that are due (pending and next_attempt_at reached, or delivering with an
   expired lease: a worker died mid-delivery) are locked with `FOR UPDATE SKIP LOCKED` on
   PostgreSQL (SQLite serialises writers with BEGIN IMMEDIATE) and leased to one worker.
2. `record_attempts`: one `NoticeAttempt` row per try, and the new state — only if the lease is
   still ours, so a worker that outlived its lease cannot overwrite a newer claim. The worker
   stores the attempts of several sends at once (one transaction, two statements when all were
   acknowledged).

A notice goes to its `push_url` (the inform_url of the link request its payment was made on,
core.notifications.outbox) when it has one, else to the merchant's notification URL; a notice with
neither is `skipped`. Per payment, a notice is claimable only when no earlier one (lower
payment_seq) is pending, delivering or failed, so a merchant never sees a payment's changes out of
order. Delivery is at-least-once: merchants drop duplicates by payment_notice_id (and stale ones by
payment_seq).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from kessai.core.context import Core
from kessai.core.merchants.models import Merchant
from kessai.core.notifications.models import BLOCKING, Notice, NoticeAttempt
from kessai.kit.clock import as_utc

log = logging.getLogger("kessai.notifications")

EXCERPT_CHARS = 2048
ERROR_CHARS = 256

Verdict = Literal["delivered", "retrying", "failed", "lost"]


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard and how long to push (the worker builds it from Settings)."""

    lease: timedelta = timedelta(seconds=60)
    horizon: timedelta = timedelta(hours=72)  # keep retrying at least this long after the change
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    jitter: float = 0.2
    merchants_per_claim: int = 50
    per_merchant: int = 4  # notices one worker takes per merchant: their sends must fit the lease


@dataclass(frozen=True)
class Claim:
    """A notice leased to one worker, with what the send needs (no ORM object crosses the network)."""

    id: int
    merchant_id: int
    payment_notice_id: int
    payment_id: int | None  # None: a file payment notice
    payment_seq: int
    url: str
    hash_key: str
    fields: dict[str, str]
    owner: str
    merchant_mode: str = "sandbox"  # production URLs must not reach internal addresses (SSRF)
    kind: str = "payment"  # or "file": which fields `hc` signs


@dataclass(frozen=True)
class AttemptResult:
    """What one POST produced; `outcome` is acknowledged|refused|timeout|connection_error|bad_response."""

    outcome: str
    started_at: datetime
    duration_ms: int
    http_status: int | None = None
    excerpt: str = ""
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.outcome == "acknowledged"


def retry_delay(failures: int, policy: DeliveryPolicy, rng: random.Random) -> timedelta:
    """Exponential back-off with jitter: base × 2^(n-1), capped, ±jitter so retries spread out
    instead of hammering a recovering merchant all at once."""
    exponent = min(max(failures - 1, 0), 30)
    delay = min(policy.base_delay * (2**exponent), policy.max_delay)
    factor: float = rng.uniform(1 - policy.jitter, 1 + policy.jitter)
    return timedelta(seconds=delay.total_seconds() * factor)


def skip_unaddressed(core: Core) -> int:
    """Mark pending notices with nowhere to go `skipped` (no push_url, and a merchant without a
    notification URL): 091 pull has them."""
    with core.sessions.begin() as session:
        result = session.execute(
            update(Notice)
            .where(Notice.delivery_status == "pending", ~_addressed())
            .values(delivery_status="skipped", next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result)


def fail_blocked(core: Core, policy: DeliveryPolicy) -> int:
    """Fail notices past the horizon that wait behind a failed earlier notice of their payment.

    They can never be sent in order; failing them loudly beats leaving them pending forever."""
    now = core.clock.now()
    earlier = aliased(Notice)
    behind_failed = exists().where(
        earlier.payment_id == Notice.payment_id,
        earlier.payment_seq < Notice.payment_seq,
        earlier.delivery_status == "failed",
    )
    with core.sessions.begin() as session:
        rows = session.scalars(
            select(Notice)
            .where(
                Notice.delivery_status == "pending",
                Notice.created_at < now - policy.horizon,
                behind_failed,
            )
            .with_for_update(skip_locked=True)
        ).all()
        for notice in rows:
            _fail(notice, now, "an earlier notice of this payment failed")
        return len(rows)


def claim_due(
    core: Core,
    owner: str,
    policy: DeliveryPolicy,
    *,
    exclude: Collection[int] = (),
    merchants: int | None = None,
) -> list[Claim]:
    """Lease due notices to `owner`: of at most `merchants` merchants (not in `exclude`), at most
    `per_merchant` notices each."""
    now = core.clock.now()
    limit = policy.merchants_per_claim if merchants is None else merchants
    if limit <= 0:
        return []
    with core.sessions.begin() as session:
        ids: list[int] = []
        for merchant_id in _due_merchants(session, now, limit, exclude):
            ids += _lock_due(session, merchant_id, now, policy.per_merchant)
        return _lease(session, ids, owner, now, policy)


def claim_more(core: Core, owner: str, policy: DeliveryPolicy, merchant_id: int) -> list[Claim]:
    """Lease one merchant's next due notices to `owner`, at most `per_merchant` (its batch runs
    low). A payment whose notice is still in flight has none among them: that notice is still
    `delivering`, which holds back the payment's later ones."""
    now = core.clock.now()
    with core.sessions.begin() as session:
        ids = _lock_due(session, merchant_id, now, policy.per_merchant)
        return _lease(session, ids, owner, now, policy)


def _lease(
    session: Session, ids: list[int], owner: str, now: datetime, policy: DeliveryPolicy
) -> list[Claim]:
    if not ids:
        return []
    session.execute(
        update(Notice)
        .where(Notice.id.in_(ids))
        .values(delivery_status="delivering", lease_owner=owner, lease_until=now + policy.lease)
        .execution_options(synchronize_session=False)
    )
    return _claims(session, ids, owner)


def record_attempts(
    core: Core,
    attempts: Sequence[tuple[Claim, AttemptResult]],
    policy: DeliveryPolicy,
    rng: random.Random | None = None,
) -> list[Verdict]:
    """Store attempts and move their notices on (delivered, retried later, or failed for good), all
    in one transaction; the verdicts come back in the order of `attempts`.

    Acknowledged notices still leased to their claim's owner (the common case) are marked
    delivered by one UPDATE … RETURNING and their attempt rows written by one INSERT; the rest
    (failures, lost leases) go one by one."""
    now = core.clock.now()
    with core.sessions.begin() as session:
        verdicts = _record_delivered(session, [a for a in attempts if a[1].acknowledged], now)
        for claim, result in attempts:
            if claim.id not in verdicts:
                verdicts[claim.id] = _record_one(session, claim, result, now, policy, rng)
        return [verdicts[claim.id] for claim, _ in attempts]


def _record_delivered(
    session: Session, acknowledged: Sequence[tuple[Claim, AttemptResult]], now: datetime
) -> dict[int, Verdict]:
    """Mark delivered every acknowledged notice whose lease is still its claim's; their verdicts."""
    verdicts: dict[int, Verdict] = {}
    rows: list[dict[str, Any]] = []
    for owner in {claim.owner for claim, _ in acknowledged}:
        ours = {claim.id: result for claim, result in acknowledged if claim.owner == owner}
        marked = session.execute(
            update(Notice)
            .where(
                Notice.id.in_(list(ours)),
                Notice.delivery_status == "delivering",
                Notice.lease_owner == owner,
            )
            .values(
                delivery_status="delivered",
                delivered_at=now,
                last_error="",
                attempts=Notice.attempts + 1,
                lease_owner=None,
                lease_until=None,
            )
            .returning(Notice.id, Notice.attempts)
            .execution_options(synchronize_session=False)
        ).all()
        for notice_id, attempt_no in marked:
            rows.append(_attempt_values(notice_id, attempt_no, ours[notice_id]))
            verdicts[notice_id] = "delivered"
    if rows:
        session.execute(insert(NoticeAttempt), rows)
    return verdicts


def _record_one(
    session: Session,
    claim: Claim,
    result: AttemptResult,
    now: datetime,
    policy: DeliveryPolicy,
    rng: random.Random | None,
) -> Verdict:
    notice = session.scalars(select(Notice).where(Notice.id == claim.id).with_for_update()).one()
    session.add(NoticeAttempt(**_attempt_values(notice.id, notice.attempts + 1, result)))
    if notice.delivery_status != "delivering" or notice.lease_owner != claim.owner:
        log.info("notice %s: lease lost before the outcome was recorded", claim.id)
        return "lost"
    notice.attempts += 1
    _release(notice)
    if result.acknowledged:
        notice.delivery_status, notice.delivered_at, notice.last_error = "delivered", now, ""
        return "delivered"
    return _after_failure(notice, result, now, policy, rng or random.Random())


def release(core: Core, claims: Sequence[Claim]) -> None:
    """Give back claims that were never sent (the lease would run out first): due again now."""
    now = core.clock.now()
    with core.sessions.begin() as session:
        for claim in claims:
            session.execute(
                update(Notice)
                .where(
                    Notice.id == claim.id,
                    Notice.lease_owner == claim.owner,
                    Notice.delivery_status == "delivering",
                )
                .values(
                    delivery_status="pending",
                    lease_owner=None,
                    lease_until=None,
                    next_attempt_at=now,
                )
                .execution_options(synchronize_session=False)
            )


def _due_merchants(
    session: Session, now: datetime, limit: int, exclude: Collection[int]
) -> list[int]:
    """Merchants with due notices, longest-waiting first, so a busy one cannot starve the rest."""
    query = (
        select(Notice.merchant_id)
        .where(_claimable(now), ~_behind_undelivered(), _addressed())
        .group_by(Notice.merchant_id)
        .order_by(func.min(Notice.id))
        .limit(limit)
    )
    if exclude:
        query = query.where(Notice.merchant_id.not_in(list(exclude)))
    return list(session.scalars(query))


def _lock_due(session: Session, merchant_id: int, now: datetime, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(Notice.id)
            .where(
                Notice.merchant_id == merchant_id,
                _claimable(now),
                ~_behind_undelivered(),
                _addressed(),
            )
            .order_by(Notice.payment_notice_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def _addressed() -> ColumnElement[bool]:
    """The notice has somewhere to go: its own push_url, or its merchant's notification URL."""
    with_url = select(Merchant.id).where(
        Merchant.notification_url.is_not(None), Merchant.notification_url != ""
    )
    return or_(
        and_(Notice.push_url.is_not(None), Notice.push_url != ""),
        Notice.merchant_id.in_(with_url),
    )


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Pending and due, or leased by a worker whose lease ran out (it died or hung)."""
    return or_(
        and_(Notice.delivery_status == "pending", Notice.next_attempt_at <= now),
        and_(Notice.delivery_status == "delivering", Notice.lease_until < now),
    )


def _behind_undelivered() -> ColumnElement[bool]:
    """An earlier notice of the same payment is not delivered yet: this one must wait.

    OFFSET 0 keeps it a lookup per candidate: as an anti-join, PostgreSQL planned a nested loop
    over the whole table whenever its statistics still saw the outbox near empty, as after a
    burst of notices (3.9 s per claim at 3,000 pending, against 9 ms; bench/notify.py one
    merchant). The lookup goes to the partial index of blocking notices (ix_notices_blocking,
    0022), whose predicate the statuses match only when written as literals (a bound parameter
    cannot prove it in a generic plan)."""
    earlier = aliased(Notice)
    return (
        select(earlier.id)
        .where(
            earlier.payment_id == Notice.payment_id,
            earlier.payment_seq < Notice.payment_seq,
            earlier.delivery_status.in_([literal_column(f"'{s}'") for s in BLOCKING]),
        )
        .offset(0)
        .exists()
    )


def _claims(session: Session, ids: list[int], owner: str) -> list[Claim]:
    rows = session.execute(
        select(Notice, Merchant.notification_url, Merchant.notification_hash_key, Merchant.mode)
        .join(Merchant, Merchant.id == Notice.merchant_id)
        .where(Notice.id.in_(ids))
        .order_by(Notice.merchant_id, Notice.payment_notice_id)
    ).all()
    return [
        Claim(
            id=n.id,
            merchant_id=n.merchant_id,
            payment_notice_id=n.payment_notice_id,
            payment_id=n.payment_id,
            payment_seq=n.payment_seq,
            url=n.push_url or url or "",
            hash_key=key,
            fields={k: str(v) for k, v in (n.fields or {}).items()},
            owner=owner,
            merchant_mode=mode,
            kind=n.kind,
        )
        for n, url, key, mode in rows
    ]


def _after_failure(
    notice: Notice, result: AttemptResult, now: datetime, policy: DeliveryPolicy, rng: random.Random
) -> Verdict:
    error = _error_text(result)
    if now >= as_utc(notice.created_at) + policy.horizon:
        _fail(notice, now, error)
        return "failed"
    notice.delivery_status, notice.last_error = "pending", error
    notice.next_attempt_at = now + retry_delay(notice.attempts, policy, rng)
    return "retrying"


def _fail(notice: Notice, now: datetime, error: str) -> None:
    """Give up on a notice, never silently: operators see the warning, merchants still have 091."""
    notice.delivery_status, notice.failed_at = "failed", now
    notice.last_error, notice.next_attempt_at = error[:ERROR_CHARS], None
    log.warning(
        "notice delivery failed for good: merchant %s payment_notice_id %s (payment %s): %s",
        notice.merchant_id,
        notice.payment_notice_id,
        notice.payment_id,
        error,
    )


def _release(notice: Notice) -> None:
    notice.lease_owner, notice.lease_until = None, None


def _attempt_values(notice_id: int, attempt_no: int, result: AttemptResult) -> dict[str, Any]:
    return {
        "notice_id": notice_id,
        "attempt_no": attempt_no,
        "started_at": result.started_at,
        "duration_ms": result.duration_ms,
        "outcome": result.outcome,
        "http_status": result.http_status,
        "response_excerpt": clean_excerpt(result.excerpt),
        "error": result.error[:ERROR_CHARS],
    }


def clean_excerpt(text: str) -> str:
    """What is kept of a merchant's answer: at most 2,048 characters, NUL bytes removed (both
    databases refuse or mangle NULs in text)."""
    return text.replace("\x00", "")[:EXCERPT_CHARS]


def _error_text(result: AttemptResult) -> str:
    status = f"HTTP {result.http_status}: " if result.http_status is not None else ""
    return f"{result.outcome}: {status}{result.error}"[:ERROR_CHARS]


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
