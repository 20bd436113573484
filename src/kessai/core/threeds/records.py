"""Reading and moving one authentication under its row lock: shared by the commands, the 020
checks (`usage`) and the timeouts, and kept free of their imports (the 020 path imports it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.threeds import rules
from kessai.core.threeds.models import ThreeDSAuthentication


def lock(session: Session, auth_id: str) -> ThreeDSAuthentication | None:
    """The authentication, locked for this transaction (a row lock on PostgreSQL; SQLite's writer
    lock is held since BEGIN IMMEDIATE)."""
    return session.scalar(
        select(ThreeDSAuthentication)
        .where(ThreeDSAuthentication.auth_id == auth_id)
        .with_for_update()
    )


def expire(auth: ThreeDSAuthentication, now: datetime) -> None:
    """Time an open authentication out (31013) and schedule the browser-less notice."""
    verdict = rules.TIMED_OUT_VERDICT
    auth.status = rules.TIMED_OUT
    auth.result, auth.attempt_kbn, auth.response_code = (
        verdict.result,
        verdict.attempt_kbn,
        verdict.response_code,
    )
    auth.next_notice_at = now
    auth.updated_at = now


def expire_if_due(auth: ThreeDSAuthentication, now: datetime) -> bool:
    """Time `auth` out if it is still open past its 30 minutes; whether it is timed out now."""
    if auth.status in rules.OPEN_STATUSES and auth.expires_at <= now:
        expire(auth, now)
    return auth.status == rules.TIMED_OUT
