"""Breaks (照合差異) between institutions' reports and the ledger: listed until an operator resolves
them, each resolution with its reason in the audit log, in the same transaction."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.console import audit
from kessai.core.institution_reports.models import SettlementBreak
from kessai.core.institution_reports.views import BreakView, break_views
from kessai.kit.errors import InvalidRequest, InvalidState, NotFound

log = logging.getLogger(__name__)
RESOLVE_ACTION = "settlement_break_resolve"


def list_breaks(session: Session, *, include_resolved: bool = False) -> list[BreakView]:
    """The open breaks (with `include_resolved`, every break), oldest first."""
    if include_resolved:
        return break_views(session)
    return break_views(session, SettlementBreak.resolved_at.is_(None))


def resolve(
    session: Session, break_id: int, *, reason: str, actor: audit.Actor, now: datetime
) -> BreakView:
    """Close break `break_id` with `reason`, written to the audit log (an operator's entry: no
    merchant's log shows it). Nothing is booked: a correction is the operator's own entry
    (`kessai settle adjust`) or the institution's next report."""
    reason = reason.strip()
    if not reason:
        raise InvalidRequest(message="give the reason the break is resolved (--reason TEXT)")
    row = session.scalar(
        select(SettlementBreak).where(SettlementBreak.id == break_id).with_for_update()
    )
    if row is None:
        raise NotFound(message=f"break {break_id} does not exist (see: kessai settle breaks --all)")
    if row.resolved_at is not None:
        raise InvalidState(
            message=f"break {break_id} was resolved on {row.resolved_at:%Y-%m-%d %H:%M} UTC by "
            f"{row.resolved_by}: {row.resolution}"
        )
    row.resolved_at, row.resolved_by, row.resolution = now, actor.login[:64], reason[:512]
    detail = f"{row.kind} {row.institution} payment={row.payment_id} expected={row.expected} "
    detail += f"paid={row.paid}; {reason}"
    audit.record(session, actor, RESOLVE_ACTION, target=f"break:{break_id}", detail=detail, now=now)
    session.flush()
    log.info("settlement break resolved", extra={"break_id": break_id, "kind": row.kind})
    (view,) = break_views(session, SettlementBreak.id == break_id)
    return view
