"""CSV downloads that open correctly in Excel in Japan: Shift_JIS (CP932) or UTF-8 with a BOM,
CRLF line ends, every field quoted where needed, streamed row by row in constant memory.

A value that Excel would take for a formula (=, +, -, @ first) is prefixed with ' — a buyer's name
typed on a shop's form must not run in a merchant's spreadsheet (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from starlette.responses import Response, StreamingResponse

from kessai.core.console import audit
from kessai.core.payments import labels, queries
from kessai.core.payments.views import PaymentView
from kessai.kit.clock import JST
from kessai.web.console import forms
from kessai.web.console.context import Ctx
from kessai.web.console.render import jst

ENCODINGS = {"cp932": ("cp932", b""), "utf-8": ("utf-8", b"\xef\xbb\xbf")}
FLUSH_BYTES = 64 * 1024


def _detail(name: str) -> Callable[[PaymentView], str]:
    return lambda view: view.detail(name)


# The screen's columns first, then the details (PRODUCT.md §6).
PAYMENT_COLUMNS: Sequence[tuple[str, Callable[[PaymentView], Any]]] = (
    ("取引ID", lambda v: v.trading_id),
    ("決済ID", lambda v: v.payment_id),
    ("決済種別", lambda v: labels.method_name(v.payment_type)),
    ("支払機関名", labels.institution_name),
    ("決済ステータス", lambda v: labels.status_name(v.payment_type, v.status)),
    ("取引日時", lambda v: jst(v.created_at)),
    ("支払期限日", lambda v: jst(v.due_at, "%Y/%m/%d")),
    ("消込日時", lambda v: jst(v.captured_at)),
    ("決済金額", lambda v: v.amount),
    ("決済種別CD", lambda v: v.payment_type),
    ("決済ステータスCD", lambda v: v.status),
    ("サイトID", lambda v: v.site_id),
    ("オーソリ日時", lambda v: jst(v.authorized_at)),
    ("取消日時", lambda v: jst(v.cancelled_at)),
    ("関連決済ID", lambda v: v.related_payment_id or ""),
    ("支払機関CD", lambda v: v.institution_code or _detail("cvs_company_id")(v)),
    ("カード番号", _detail("masked_card_number")),
    ("カードブランド", _detail("card_brand")),
    ("支払区分", _detail("payment_class")),
    ("分割回数", _detail("split_count")),
    ("承認番号", _detail("authrized_number")),
    ("顧客ID", _detail("customer_id")),
    ("お客様名（姓）", _detail("customer_family_name")),
    ("お客様名（名）", _detail("customer_name")),
    ("電話番号", _detail("customer_tel")),
    ("受付番号", _detail("receipt_number")),
    ("確認番号", _detail("conf_number")),
    ("収納機関番号", _detail("pay_center_number")),
    ("お客様番号", _detail("customer_number")),
)


def payments_csv(ctx: Ctx) -> Response:
    criteria = forms.search_criteria(ctx.query)
    encoding = ctx.query.get("encoding", "cp932")
    codec, bom = ENCODINGS.get(encoding, ENCODINGS["cp932"])
    ctx.note.detail = f"payments {encoding}; {forms.query_string(ctx.query)}"[:512]
    core, merchant_id = ctx.core, ctx.merchant.id

    def rows() -> Iterator[list[Any]]:
        with core.sessions() as session:
            for view in queries.stream(session, merchant_id, criteria):
                yield [column(view) for _, column in PAYMENT_COLUMNS]

    header = [name for name, _ in PAYMENT_COLUMNS]
    return _download(_encoded(header, rows(), codec, bom), f"payments_{_stamp(ctx)}.csv", codec)


AUDIT_HEADER = ("日時", "ログインID", "操作", "対象", "結果", "詳細", "接続元")


def audit_csv(ctx: Ctx, where: audit.AuditFilter) -> Response:
    encoding = ctx.query.get("encoding", "cp932")
    codec, bom = ENCODINGS.get(encoding, ENCODINGS["cp932"])
    core, merchant_id = ctx.core, ctx.merchant.id

    def rows() -> Iterator[list[Any]]:
        with core.sessions() as session:
            for e in audit.stream_entries(session, merchant_id, where):
                yield [jst(e.at), e.login, e.action, e.target, e.result, e.detail, e.ip]

    return _download(
        _encoded(list(AUDIT_HEADER), rows(), codec, bom), f"audit_{_stamp(ctx)}.csv", codec
    )


def _encoded(
    header: list[str], rows: Iterable[list[Any]], codec: str, bom: bytes
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield bom + buffer.getvalue().encode(codec, "replace")
    buffer.seek(0)
    buffer.truncate()
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        if buffer.tell() >= FLUSH_BYTES:
            yield buffer.getvalue().encode(codec, "replace")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode(codec, "replace")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def _download(body: Iterator[bytes], filename: str, codec: str) -> StreamingResponse:
    charset = "shift_jis" if codec == "cp932" else "utf-8"
    return StreamingResponse(
        body,
        media_type=f"text/csv; charset={charset}",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def _stamp(ctx: Ctx) -> str:
    return ctx.core.clock.now().astimezone(JST).strftime("%Y%m%d%H%M%S")
