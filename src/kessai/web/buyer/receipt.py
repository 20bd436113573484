"""The CVS payment instructions page at `receipt_print_url` (払込方法のご案内).

Plain HTML with inline styles only: it must print, read on a simple phone and work with no
JavaScript. The URL carries an HMAC token, so payment IDs cannot be walked.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse

from kessai.core.context import Core
from kessai.core.payments.cvs import commands as cvs
from kessai.core.payments.views import PaymentView
from kessai.kit.clock import JST, as_utc
from kessai.kit.errors import NotFound
from kessai.web.buyer.html import page

# How to pay at each chain's terminal or till (the chains' own wording, shortened).
STEPS: dict[str, tuple[str, ...]] = {
    "00C001": (
        "レジで「インターネット代金の支払い」とお伝えください。",
        "払込票番号（13桁）をお伝えし、代金をお支払いください。",
    ),
    "00C002": (
        "店内のLoppiで「各種番号をお持ちの方」を選んでください。",
        "お客様番号と確認番号を入力し、発券された申込券をレジへお持ちください。",
    ),
    "00C004": (
        "店内のLoppiで「各種番号をお持ちの方」を選んでください。",
        "お客様番号と確認番号を入力し、発券された申込券をレジへお持ちください。",
    ),
    "00C005": (
        "店内のマルチコピー機で「代金支払い」を選んでください。",
        "企業コードと注文番号を入力し、発券された申込券をレジへお持ちください。",
    ),
    "00C006": (
        "店内のマルチコピー機で「代金支払い」を選んでください。",
        "企業コードと注文番号を入力し、発券された申込券をレジへお持ちください。",
    ),
    "00C014": (
        "レジで「オンライン決済」とお伝えください。",
        "オンライン決済番号（11桁）をお伝えし、代金をお支払いください。",
    ),
    "00C016": (
        "レジで「インターネット支払い」とお伝えください。",
        "受付番号とお申込み時の電話番号をお伝えし、代金をお支払いください。",
    ),
}


@dataclass(frozen=True)
class ReceiptPage:
    core: Core

    async def handle(self, request: Request) -> HTMLResponse:
        try:
            view = cvs.receipt(
                self.core, int(request.path_params["payment_id"]), request.path_params["token"]
            )
        except (NotFound, ValueError):
            return HTMLResponse(page("ページが見つかりません", "<p>URLをご確認ください。</p>"), 404)
        return HTMLResponse(page("お支払い方法のご案内", _body(view)))


def _body(view: PaymentView) -> str:
    chain = view.detail("cvs_company_id")
    due = as_utc(view.due_at).astimezone(JST) if view.due_at else None
    rows = [
        ("お支払い先", cvs.CHAINS.get(chain, chain)),
        ("番号", view.detail("receipt_number")),
        ("確認番号", view.detail("conf_number")),
        ("お支払い金額", f"{view.amount:,}円"),
        ("お支払い期限", due.strftime("%Y年%m月%d日 %H:%M") if due else ""),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows if v)
    steps = "".join(f"<li>{escape(step)}</li>" for step in STEPS.get(chain, ()))
    note = (
        ""
        if view.status == "10"
        else "<p><strong>このお支払いは受付を終了しています。</strong></p>"
    )
    return f"{note}<table>{table}</table><ol>{steps}</ol>"
