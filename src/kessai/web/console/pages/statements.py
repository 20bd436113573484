"""Payout statements (支払明細) of the signed-in user's merchant: the list, one statement with its
payments, its PDF (支払明細書) and its detail CSV (明細CSV, the file `kessai settle csv` writes).

A statement of another merchant answers exactly what a statement that does not exist answers
(`views.merchant_statement`): 404, the same words.
"""

from __future__ import annotations

from starlette.responses import Response

from kessai.core.payouts.statement import StatementDocument
from kessai.core.payouts.stored import statement_value
from kessai.core.statements import views
from kessai.core.statements.detail import ENCODINGS, detail_csv, payment_page
from kessai.kit.errors import InvalidRequest, NotFound
from kessai.web.console import forms
from kessai.web.console.context import Ctx
from kessai.web.console.statement_pdf import render

PAYMENTS_PER_PAGE = 100  # a page of the statement's payments; the CSV has every one


def list_statements(ctx: Ctx) -> Response:
    with ctx.core.sessions() as session:
        statements = views.list_statements(session, ctx.merchant.id)
        shown = [views.statement_dict(session, s) for s in statements]
    ctx.note.detail = f"{len(shown)} statements"
    return ctx.render("statements.html", statements=shown)


def detail(ctx: Ctx) -> Response:
    statement_id = _path_statement_id(ctx)
    page_number = forms.paging(ctx.query).page
    offset = (page_number - 1) * PAYMENTS_PER_PAGE
    with ctx.core.sessions() as session:
        statement = views.merchant_statement(session, ctx.merchant.id, statement_id)
        shown = views.statement_dict(session, statement)
        page = payment_page(session, statement, offset=offset, limit=PAYMENTS_PER_PAGE)
    return ctx.render(
        "statement.html",
        s=shown,
        number=statement.number,
        transfer_fee=statement.transfer_fee,
        monthly_fee=statement.monthly_fee,
        tax_rate=statement.tax_rate_percent,
        payments=page.rows,
        total=page.total,
        first=offset + 1 if page.rows else 0,
        last=offset + len(page.rows),
        page=page_number,
        last_page=max(1, -(-page.total // PAYMENTS_PER_PAGE)),
    )


def pdf(ctx: Ctx) -> Response:
    """The statement's PDF, with the registration number it was closed with."""
    statement_id = _path_statement_id(ctx)
    with ctx.core.sessions() as session:
        statement = views.merchant_statement(session, ctx.merchant.id, statement_id)
        registration = statement.registration_number or ctx.config.invoice_registration_number
        value = statement_value(session, statement.id)
    if not registration:
        raise InvalidRequest(message="適格請求書発行事業者登録番号が設定されていません。")
    document = StatementDocument(
        statement=value,
        merchant_name=ctx.merchant_name,
        issuer_name=ctx.config.invoice_issuer_name,
        registration_number=registration,
    )
    body = render(document, font_path=ctx.config.font)
    return _attachment(body, "application/pdf", f"statement_{statement_id}.pdf")


def csv(ctx: Ctx) -> Response:
    """The detail CSV: CP932 (Excel in Japan) or UTF-8 with a BOM."""
    statement_id = _path_statement_id(ctx)
    encoding = ctx.query.get("encoding", "cp932")
    if encoding not in ENCODINGS:
        encoding = "cp932"
    ctx.note.detail = encoding
    with ctx.core.sessions() as session:
        statement = views.merchant_statement(session, ctx.merchant.id, statement_id)
        body = detail_csv(session, statement, encoding=encoding)
    charset = "shift_jis" if encoding == "cp932" else "utf-8"
    return _attachment(
        body, f"text/csv; charset={charset}", f"statement_{statement_id}_{encoding}.csv"
    )


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def _path_statement_id(ctx: Ctx) -> int:
    """The URL's statement ID (noted in the audit log); one out of range does not exist."""
    statement_id = int(ctx.path["statement_id"])
    ctx.note.target = f"statement:{statement_id}"
    if not 0 < statement_id <= forms.MAX_ID:
        raise NotFound(message="指定された支払明細はありません。")
    return statement_id
