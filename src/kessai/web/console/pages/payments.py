"""Search, detail, card operations (one or many) and notice re-sends. With the statements
permission, the list and the detail say which payout statement (支払明細) each payment's money was
closed on and when it is paid (reconciliation by trading ID); the detail also shows the
institution's settlement line that paid Kessai for it and whether the payout has left the bank."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from kessai.core.console import operations
from kessai.core.console.operations import ACTION_LABELS, CardAction
from kessai.core.console.permissions import Permission
from kessai.core.institution_reports.institutions import INSTITUTIONS
from kessai.core.institution_reports.views import SettlementRef, settlements_of_payment
from kessai.core.merchants.commands import KNOWN_METHODS
from kessai.core.notifications import commands as notices
from kessai.core.payments import queries
from kessai.core.payments.labels import ALL_STATUSES, METHOD_NAMES
from kessai.core.statements.views import StatementRef, payouts_sent, statements_of_payments
from kessai.kit.clock import JST
from kessai.kit.errors import InvalidRequest, NotFound
from kessai.web.console import forms
from kessai.web.console.config import PREFIX
from kessai.web.console.context import Ctx

DEFAULT_DAYS = 30

COLUMNS = (
    ("trading_id", "取引ID"),
    ("payment_id", "決済ID"),
    ("payment_type", "決済種別"),
    ("institution", "支払機関名"),
    ("status", "決済ステータス"),
    ("created_at", "取引日時"),
    ("due_at", "支払期限日"),
    ("paid_at", "消込日時"),
    ("amount", "決済金額"),
)


def search(ctx: Ctx) -> Response:
    query = ctx.query
    if not any(key in query for key in forms.SEARCH_FIELDS):
        # First visit: the last 30 days, as the form shows (a search over years is one click away).
        today = ctx.core.now_for(ctx.merchant).astimezone(JST).date()
        start = (today - timedelta(days=DEFAULT_DAYS)).isoformat()
        return RedirectResponse(f"{PREFIX}/payments?created_from={start}", status_code=303)
    criteria = forms.search_criteria(query)
    paging = forms.paging(query)
    with ctx.core.sessions() as session:
        found = queries.search(
            session, ctx.merchant.id, criteria, offset=paging.offset, limit=paging.per_page
        )
        closed_on = _statements(ctx, session, [row.payment_id for row in found.rows])
    ctx.note.detail = f"{found.total} matches; {forms.query_string(query)}"[:512]
    last_page = max(1, -(-found.total // paging.per_page))
    return ctx.render(
        "payments.html",
        criteria=criteria,
        query=query,
        rows=found.rows,
        total=found.total,
        first=paging.offset + 1 if found.rows else 0,
        last=paging.offset + len(found.rows),
        page=paging.page,
        last_page=last_page,
        per_page=paging.per_page,
        page_sizes=forms.PAGE_SIZES,
        columns=COLUMNS,
        closed_on=closed_on,
        statuses=ALL_STATUSES,
        methods={code: METHOD_NAMES[code] for code in KNOWN_METHODS},  # the methods Kessai has
        qs=lambda **changes: forms.query_string(query, **changes),
        bulk_key=secrets.token_urlsafe(24),
        bulk_actions=[(a.value, ACTION_LABELS[a]) for a in (CardAction.CAPTURE, CardAction.CANCEL)],
    )


def detail(ctx: Ctx) -> Response:
    payment_id = _path_payment_id(ctx)
    ctx.note.target = f"payment:{payment_id}"
    with ctx.core.sessions() as session:
        found = queries.get_detail(session, ctx.merchant.id, payment_id)
        closed_on = _statements(ctx, session, [payment_id]).get(payment_id, [])
        sent = payouts_sent(session, ctx.merchant.id, [ref.statement_id for ref in closed_on])
        settled = _settlements(ctx, session, payment_id)
    view = found.payment
    actions = operations.available(view.payment_type, view.status)
    return ctx.render(
        "payment.html",
        d=found,
        p=view,
        details=sorted((k, v) for k, v in view.details.items() if k != "fingerprint"),
        actions=[(a.value, ACTION_LABELS[a], a in operations.NEEDS_AMOUNT) for a in actions],
        action_key=secrets.token_urlsafe(24),
        resent=ctx.query.get("resent", ""),
        closed_on=closed_on,
        sent=sent,
        settled=settled,
        institution_labels={name: i.label for name, i in INSTITUTIONS.items()},
    )


def _settlements(ctx: Ctx, session: Session, payment_id: int) -> list[SettlementRef]:
    """The institution's report lines that paid the payment; none shown without the permission."""
    if not ctx.can(Permission.STATEMENTS):
        return []
    return settlements_of_payment(session, ctx.merchant.id, payment_id)


def _statements(
    ctx: Ctx, session: Session, payment_ids: list[int]
) -> dict[int, list[StatementRef]]:
    """The statements the payments were closed on; none shown without the permission."""
    if not ctx.can(Permission.STATEMENTS):
        return {}
    return statements_of_payments(session, ctx.merchant.id, payment_ids)


def act(ctx: Ctx) -> Response:
    """One action on one payment (from its detail page)."""
    payment_id = _path_payment_id(ctx)
    action = _action(ctx.field("action"))
    amount = (
        forms.amount(ctx.field("amount"), "金額") if action in operations.NEEDS_AMOUNT else None
    )
    return _run(ctx, action, [payment_id], amount)


def bulk(ctx: Ctx) -> Response:
    """One action on the payments ticked in the result list."""
    action = _action(ctx.field("action"))
    if action in operations.NEEDS_AMOUNT:
        raise InvalidRequest(message="返金と金額変更は決済の詳細画面から1件ずつ実行してください。")
    ids = forms.payment_ids(ctx.fields("payment_id"))
    return _run(ctx, action, ids, None)


def _run(ctx: Ctx, action: CardAction, ids: list[int], amount: int | None) -> Response:
    key = ctx.field("key")
    ctx.note.target = f"payments:{len(ids)}" if len(ids) != 1 else f"payment:{ids[0]}"
    outcome = operations.run_bulk(
        ctx.core,
        ctx.merchant,
        key=key,
        user_id=ctx.user.id,
        action=action,
        payment_ids=ids,
        amount=amount,
    )
    ctx.note.detail = (
        f"{action.value}{f' amount={amount}' if amount else ''}"
        f"{' (repeated submission: nothing done)' if outcome.repeated else ''}; "
        f"ok={outcome.succeeded} failed={outcome.failed}; ids=" + ",".join(str(i) for i in ids)
    )[:512]
    if outcome.failed:
        ctx.note.result = "partial" if outcome.succeeded else "failed"
    return ctx.render(
        "bulk_result.html",
        outcome=outcome,
        label=ACTION_LABELS[action],
        back=f"payments/{ids[0]}" if len(ids) == 1 else "",
    )


def _path_payment_id(ctx: Ctx) -> int:
    """The URL's payment ID; one out of range is a payment that does not exist."""
    payment_id = int(ctx.path["payment_id"])
    if not 0 < payment_id <= forms.MAX_ID:
        raise NotFound("2006")
    return payment_id


def _action(value: str) -> CardAction:
    try:
        return CardAction(value)
    except ValueError:
        raise InvalidRequest(message="処理の種類を選択してください。") from None


def resend_notice(ctx: Ctx) -> Response:
    payment_id, number = _path_payment_id(ctx), int(ctx.path["notice_id"])
    ctx.note.target = f"payment:{payment_id} notice:{number}"
    with ctx.core.sessions() as session:
        found = queries.get_detail(session, ctx.merchant.id, payment_id)
    if number not in {n.payment_notice_id for n in found.notices}:
        raise InvalidRequest(message="この決済の通知ではありません。")
    with ctx.core.sessions.begin() as session:
        notices.resend(session, ctx.merchant.id, now=ctx.core.clock.now(), payment_notice_id=number)
    return RedirectResponse(f"{PREFIX}/payments/{payment_id}?resent={number}", status_code=303)
