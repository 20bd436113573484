"""The 30-minute timeout of 3-D Secure authentications and its notice (paygent-protocol.md §1.5
450): nobody authenticated in time, so the gateway itself sends the GET to term_url with
`result=1`, `response_code=31013`, fingerprint and mask `XXXX`, signed with `hc`. An answer of
2xx or 3xx delivers it; anything else is tried again an hour later, three times.

The worker calls `expire_due`, then `claim_notices`, sends each GET outside any transaction, and
records it with `record_notice`. Rows are taken with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite
serialises writers), and a claimed notice is not due again until its lease has run out, so two
worker passes never send the same notice at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kessai.core.context import Core
from kessai.core.merchants.models import Merchant
from kessai.core.threeds import rules
from kessai.core.threeds.commands import result_url
from kessai.core.threeds.models import ThreeDSAuthentication
from kessai.core.threeds.records import expire

LEASE = timedelta(minutes=5)  # a claimed notice waits this long before another worker may send it


@dataclass(frozen=True, slots=True)
class TimeoutNotice:
    """One GET to send: the URL carries the result; `merchant_mode` for the SSRF re-check."""

    auth_id: str
    url: str
    merchant_mode: str
    attempt: int  # 1 for the first try


def expire_due(core: Core, *, batch: int = 200, merchant_id: int | None = None) -> int:
    """Time out every authentication (of one merchant with `merchant_id`) still open 30 minutes
    after its 450; how many moved."""
    now = core.clock.now()
    query = select(ThreeDSAuthentication).where(
        ThreeDSAuthentication.status.in_(rules.OPEN_STATUSES),
        ThreeDSAuthentication.expires_at <= now,
    )
    if merchant_id is not None:
        query = query.where(ThreeDSAuthentication.merchant_id == merchant_id)
    with core.sessions.begin() as session:
        rows = _locked(session, query, batch)
        for auth in rows:
            expire(auth, now)
        return len(rows)


def bring_forward(session: Session, merchant_id: int, delta: timedelta) -> None:
    """A sandbox merchant's test clock moved on by `delta`: its open authentications are that much
    nearer their 30 minutes (then `expire_due` times out those past them)."""
    rows = session.scalars(
        select(ThreeDSAuthentication)
        .where(
            ThreeDSAuthentication.merchant_id == merchant_id,
            ThreeDSAuthentication.status.in_(rules.OPEN_STATUSES),
        )
        .with_for_update()
    )
    for auth in rows:
        auth.expires_at -= delta


def claim_notices(core: Core, *, batch: int = 50) -> list[TimeoutNotice]:
    """The timeout notices due now, leased to the caller (not due again for `LEASE`)."""
    now = core.clock.now()
    with core.sessions.begin() as session:
        rows = _locked(
            session,
            select(ThreeDSAuthentication).where(
                ThreeDSAuthentication.status == rules.TIMED_OUT,
                ThreeDSAuthentication.next_notice_at.is_not(None),
                ThreeDSAuthentication.next_notice_at <= now,
            ),
            batch,
        )
        return [_lease(session, auth, now) for auth in rows]


def record_notice(core: Core, notice: TimeoutNotice, *, delivered: bool, error: str = "") -> str:
    """Record one try: `delivered`, `retrying` (an hour later) or `failed` (no tries left)."""
    now = core.clock.now()
    with core.sessions.begin() as session:
        auth = session.scalar(
            select(ThreeDSAuthentication)
            .where(ThreeDSAuthentication.auth_id == notice.auth_id)
            .with_for_update()
        )
        if auth is None or auth.notice_attempts >= notice.attempt:
            return "lost"  # another worker recorded this try after our lease ran out
        auth.notice_attempts = notice.attempt
        auth.updated_at = now
        outcome = _after_try(auth, delivered, now)
        auth.details = {**auth.details, "notice": outcome, "notice_error": error[:256]}
        return outcome


def _after_try(auth: ThreeDSAuthentication, delivered: bool, now: datetime) -> str:
    if delivered:
        auth.next_notice_at = None
        return "delivered"
    if auth.notice_attempts >= rules.NOTICE_ATTEMPTS:
        auth.next_notice_at = None
        return "failed"
    auth.next_notice_at = now + rules.NOTICE_RETRY
    return "retrying"


def _lease(session: Session, auth: ThreeDSAuthentication, now: datetime) -> TimeoutNotice:
    merchant = session.get(Merchant, auth.merchant_id)
    assert merchant is not None
    auth.next_notice_at = now + LEASE
    return TimeoutNotice(
        auth_id=auth.auth_id,
        url=result_url(auth, merchant.threeds_hash_key),
        merchant_mode=merchant.mode,
        attempt=auth.notice_attempts + 1,
    )


def _locked(
    session: Session, query: Select[ThreeDSAuthentication], batch: int
) -> list[ThreeDSAuthentication]:
    statement = query.order_by(ThreeDSAuthentication.id).limit(batch)
    return list(session.scalars(statement.with_for_update(skip_locked=True)))
