"""Console sign-in sessions: the only writers of `console_sessions`.

The browser holds a random token in a cookie; the table holds its SHA-256, the CSRF token of the
session and the certificate it was opened with. A session ends after `idle` without a request
(15 minutes, PCI DSS 8.2.8) or 12 hours after sign-in, whichever comes first.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from kessai.core.console.models import ConsoleSession, ConsoleUser
from kessai.core.console.users import UserView
from kessai.kit.clock import as_utc

MAX_AGE = timedelta(hours=12)
# last_seen_at is written at most this often: one write per click is not needed to expire on time.
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class ActiveSession:
    user: UserView
    csrf_token: str
    cert_fingerprint: str


def open_session(
    session: Session, user_id: int, *, cert_fingerprint: str, ip: str, now: datetime
) -> str:
    """Start a session for `user_id`; returns the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id=_hash(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            cert_fingerprint=cert_fingerprint,
            ip=ip[:64],
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


def resume(session: Session, token: str, *, now: datetime, idle: timedelta) -> ActiveSession | None:
    """The session of `token` if it is still alive (and its user enabled), touching it; None
    otherwise (an expired session is deleted)."""
    row = session.get(ConsoleSession, _hash(token))
    if row is None:
        return None
    user = session.get(ConsoleUser, row.user_id)
    last_seen, created = as_utc(row.last_seen_at), as_utc(row.created_at)
    if user is None or user.disabled or last_seen + idle <= now or created + MAX_AGE <= now:
        session.delete(row)
        return None
    if now - last_seen >= TOUCH_EVERY:
        row.last_seen_at = now
    return ActiveSession(UserView.of(user), row.csrf_token, row.cert_fingerprint)


def close(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.id == _hash(token)))


def close_all(session: Session, user_id: int, *, keep_token: str | None = None) -> None:
    """End every session of a user (disabled, password reset), except `keep_token`'s."""
    query = delete(ConsoleSession).where(ConsoleSession.user_id == user_id)
    if keep_token is not None:
        query = query.where(ConsoleSession.id != _hash(keep_token))
    session.execute(query.execution_options(synchronize_session=False))


def purge_expired(session: Session, *, now: datetime, idle: timedelta) -> int:
    result = session.execute(
        delete(ConsoleSession)
        .where(ConsoleSession.last_seen_at < now - idle)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
