"""The 売掛金 view: what the signed-in user's merchant is owed, without any upload — payments
issued and not paid yet by deadline, and money paid but not paid out yet by expected payout date
(`kessai.core.reconcile.receivables` reads it)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import Response

from kessai.core.reconcile.receivables import PAID_LATER, WAITING, DueDay, receivables
from kessai.web.console.context import Ctx


def show(ctx: Ctx) -> Response:
    with ctx.core.sessions() as session:
        owed = receivables(session, merchant_id=ctx.merchant.id, now=ctx.core.now_for(ctx.merchant))
    ctx.note.detail = f"{owed.issued_count} issued, {len(owed.payouts_due)} payouts due"
    return ctx.render("receivables.html", owed=owed, search_link=search_link)


def search_link(day: DueDay) -> str:
    """The payments search listing the unpaid payments of one deadline day."""
    pairs = [("status", status) for status in WAITING]
    pairs += [("method", method) for method in PAID_LATER]
    when = day.day.isoformat() if day.day is not None else ""
    pairs += [("due_from", when), ("due_to", when), ("created_from", "")]
    return "/console/payments?" + urlencode(pairs)
