"""The console's audit log (PCI DSS 10.2): every sign-in and every action — who, what, when, from
where, with what result. Append-only: nothing in Kessai updates or deletes these rows.

Entries never hold card numbers or passwords: callers pass what was acted on (payment IDs, user
logins) and a short outcome, never a form's raw fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kessai.core.console.models import AuditEntry


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and from where (the client address the face trusts)."""

    merchant_id: int | None
    user_id: int | None
    login: str
    ip: str


@dataclass(frozen=True, slots=True)
class AuditView:
    at: datetime
    login: str
    action: str
    target: str
    result: str
    detail: str
    ip: str


@dataclass(frozen=True, slots=True)
class AuditFilter:
    login: str = ""
    action: str = ""
    result: str = ""
    since: datetime | None = None
    until: datetime | None = None


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    result: str = "ok",
    target: str = "",
    detail: str = "",
    now: datetime,
) -> None:
    session.add(
        AuditEntry(
            merchant_id=actor.merchant_id,
            user_id=actor.user_id,
            login=actor.login[:64],
            action=action[:48],
            target=target[:128],
            result=result[:16],
            detail=detail[:512],
            ip=actor.ip[:64],
            at=now,
        )
    )


def _query(merchant_id: int, where: AuditFilter) -> Select[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.merchant_id == merchant_id)
    if where.login:
        query = query.where(AuditEntry.login == where.login)
    if where.action:
        query = query.where(AuditEntry.action == where.action)
    if where.result:
        query = query.where(AuditEntry.result == where.result)
    if where.since is not None:
        query = query.where(AuditEntry.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEntry.at < where.until)
    return query


def list_entries(
    session: Session, merchant_id: int, where: AuditFilter, *, offset: int, limit: int
) -> tuple[int, list[AuditView]]:
    """A page of a merchant's audit log, newest first, and how many entries match."""
    query = _query(merchant_id, where)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset(offset).limit(limit)
    )
    return int(total), [_view(row) for row in rows]


def stream_entries(session: Session, merchant_id: int, where: AuditFilter) -> Iterator[AuditView]:
    """Every matching entry, oldest first, fetched in batches (the CSV download)."""
    query = _query(merchant_id, where).order_by(AuditEntry.at, AuditEntry.id)
    for row in session.scalars(query.execution_options(yield_per=1000)):
        yield _view(row)


def _view(row: AuditEntry) -> AuditView:
    return AuditView(row.at, row.login, row.action, row.target, row.result, row.detail, row.ip)
