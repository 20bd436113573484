"""The payment slip's buyer pages at `slip_url` (払込票のご案内): what to do, and the slip's PDF.

`GET /cvs/slip/{payment_id}/{token}` is plain HTML (no JavaScript, inline styles) that says how to
pay and links `…/{token}/slip.pdf`, the printable slip. The URL carries an HMAC token, so payment
IDs cannot be walked. The PDF is only served while the slip can still be paid: a paid or expired
slip printed again could only mislead a till.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from kessai.core.context import Core
from kessai.core.payments.slip import commands as slip
from kessai.core.payments.slip.states import SlipStatus
from kessai.kit.clock import JST, as_utc
from kessai.kit.errors import NotFound
from kessai.web.buyer import slip_pdf
from kessai.web.buyer.html import page

_NOT_FOUND = page("ページが見つかりません", "<p>URLをご確認ください。</p>")
_CLOSED = {
    SlipStatus.REPORTED: "お支払いを確認しました。ありがとうございました。",
    SlipStatus.PAID: "お支払いを確認しました。ありがとうございました。",
    SlipStatus.EXPIRED: "お支払い期限を過ぎたため、この払込票はご利用いただけません。",
    SlipStatus.REPORT_CANCELLED: "このお支払いは取り消されました。お支払い先へお問い合わせください。",
}


@dataclass(frozen=True)
class SlipPage:
    core: Core
    font: Path | None = None  # a TrueType Japanese font for the PDF (Settings.slip_font)

    async def page(self, request: Request) -> Response:
        doc = await run_in_threadpool(self._document, request)
        if doc is None:
            return HTMLResponse(_NOT_FOUND, 404)
        return HTMLResponse(page("コンビニ払込票のご案内", _body(doc, request.url.path)))

    async def pdf(self, request: Request) -> Response:
        doc = await run_in_threadpool(self._document, request)
        if doc is None:
            return HTMLResponse(_NOT_FOUND, 404)
        if doc.payment.status != SlipStatus.APPLIED:
            body = f"<p>{escape(_CLOSED[SlipStatus(doc.payment.status)])}</p>"
            return HTMLResponse(page("コンビニ払込票", body), 410)
        data = await run_in_threadpool(slip_pdf.render, doc, font_path=self.font)
        name = f"slip-{doc.payment.payment_id}.pdf"
        return Response(
            data,
            media_type="application/pdf",
            headers={"content-disposition": f'inline; filename="{name}"'},
        )

    def _document(self, request: Request) -> slip.SlipDocument | None:
        try:
            payment_id = int(request.path_params["payment_id"])
            return slip.document(self.core, payment_id, request.path_params["token"])
        except (NotFound, ValueError):
            return None


def _body(doc: slip.SlipDocument, path: str) -> str:
    view = doc.payment
    due = as_utc(view.due_at).astimezone(JST) if view.due_at else None
    printed = view.detail("payment_limit_date")
    rows = [
        ("お支払い先", doc.payee),
        ("お支払い金額", f"{view.amount:,}円"),
        ("お支払い期限", f"{printed[:4]}年{printed[4:6]}月{printed[6:]}日" if printed else ""),
        ("払込票の有効期限", due.strftime("%Y年%m月%d日") if due else ""),
        ("お取り扱いコンビニ", "、".join(doc.chains())),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows if v)
    if view.status != SlipStatus.APPLIED:
        note = escape(_CLOSED[SlipStatus(view.status)])
        return f"<p><strong>{note}</strong></p><table>{table}</table>"
    steps = (
        f'<li><a href="{escape(path)}/slip.pdf">払込票（PDF）</a>を開き、A4の白い紙に'
        "実際のサイズ（100%）で印刷してください。</li>"
        "<li>お支払い期限までに、上のコンビニのレジへ払込票をお持ちください。"
        "店員がバーコードを読み取ります。</li>"
        "<li>代金をお支払いください。押印された「払込受領証」が領収書です。"
        "大切に保管してください。</li>"
    )
    return f"<table>{table}</table><ol>{steps}</ol>"
