"""The audit log for admins: read it page by page, download it as CSV."""

from __future__ import annotations

from starlette.responses import Response

from kessai.core.console import audit
from kessai.core.payments.queries import Period
from kessai.web.console import forms
from kessai.web.console.context import Ctx
from kessai.web.console.pages import export

PER_PAGE = 100


def _filter(ctx: Ctx) -> audit.AuditFilter:
    query = ctx.query
    period = forms._days(query, "at", "日時")
    return audit.AuditFilter(
        login=query.get("login", "").strip()[:64],
        action=query.get("action", "").strip()[:48],
        result=query.get("result", "").strip()[:16],
        since=period.start,
        until=period.end,
    )


def show(ctx: Ctx) -> Response:
    where = _filter(ctx)
    page = forms.paging(ctx.query).page
    with ctx.core.sessions() as session:
        total, entries = audit.list_entries(
            session, ctx.merchant.id, where, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
        )
    last_page = max(1, -(-total // PER_PAGE))
    query = ctx.query
    keep = [(k, v) for k, v in query.multi_items() if k != "page"]
    return ctx.render(
        "audit.html",
        entries=entries,
        total=total,
        page=page,
        last_page=last_page,
        query=query,
        keep=keep,
        period=Period(where.since, where.until),
    )


def download(ctx: Ctx) -> Response:
    return export.audit_csv(ctx, _filter(ctx))
