"""Bank net pages (銀行ネット決済): Kessai's bank-selection page at the 060 `asp_url`
(`/banking/asp?type=05&tid=…&mid=…&hv=…`, GET as §1.5 requires) and the sandbox bank's page where
the buyer pays, fails or leaves.

Plain HTML with inline styles, forms that POST, no JavaScript: it must work on a simple phone. A
choice of bank answers 303 to that bank's page; the bank's answer is applied by the core before the
buyer is sent back (303) to `return_url` or `stop_return_url`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from kessai.core.context import Core
from kessai.core.payments.banknet import buyer
from kessai.core.payments.banknet.buyer import Action, AtBank, Selection
from kessai.kit.clock import JST, as_utc
from kessai.kit.errors import KessaiError, NotFound
from kessai.web.buyer.html import read_form

ASP_PATH = "/banking/asp"
BANK_PATH = "/banknet/bank"
ACTIONS: tuple[Action, ...] = ("pay", "fail", "abandon")


def asp_url(base_url: str, secret: bytes, merchant_id: int, trading_id: str) -> str:
    """The selection page of an application (060 `asp_url`)."""
    query = urlencode(
        {
            "type": "05",
            "tid": trading_id,
            "mid": str(merchant_id),
            "hv": buyer.selection_hash(secret, merchant_id, trading_id),
        }
    )
    return f"{base_url}{ASP_PATH}?{query}"


def bank_url(base_url: str, secret: bytes, payment_id: int) -> str:
    """The bank's page of a payment (050 `asp_url`; where the selection page sends the buyer)."""
    return f"{base_url}{BANK_PATH}/{payment_id}/{buyer.bank_token(secret, payment_id)}"


@dataclass(frozen=True)
class BankNetPages:
    core: Core

    async def selection(self, request: Request) -> Response:
        """GET: the banks; POST (a bank's button): a new payment there, then 303 to its page."""
        form = await read_form(request) if request.method == "POST" else dict(request.query_params)
        return await run_in_threadpool(self._selection, request.method, form)

    async def bank(self, request: Request) -> Response:
        """GET: the bank's login/confirm page; POST: the buyer's answer (pay, fail, abandon)."""
        form = await read_form(request) if request.method == "POST" else None
        params = request.path_params
        return await run_in_threadpool(self._bank, params["payment_id"], params["token"], form)

    def _selection(self, method: str, form: Mapping[str, str]) -> Response:
        try:
            merchant_id, trading_id, hv = int(form.get("mid", "")), form["tid"], form["hv"]
            if method == "GET":
                page = buyer.selection(self.core, merchant_id, trading_id, hv)
                return _html("お支払い銀行の選択", _selection_body(page, hv))
            bank_code = form.get("bank_code", "")
            payment = buyer.choose(self.core, merchant_id, trading_id, hv, bank_code)
        except (NotFound, KeyError, ValueError):
            return _not_found()
        except KessaiError as error:
            return _html("お支払い銀行の選択", _message(error.message))
        return RedirectResponse(bank_url("", self.core.secret, payment.payment_id), 303)

    def _bank(self, payment_id: str, token: str, form: Mapping[str, str] | None) -> Response:
        try:
            if form is None:
                page = buyer.at_bank(self.core, int(payment_id), token)
                return _html(_bank_title(page), _bank_body(page))
            action = form.get("action", "")
            if action not in ACTIONS:
                return _html("銀行", _message("操作を選んでください。"), 400)
            page = buyer.answer(self.core, int(payment_id), token, action)
        except (NotFound, ValueError):
            return _not_found()
        except KessaiError as error:
            return _html("銀行", _message(error.message))
        return _after_bank(self.core, page, action)


# ---------------------------------------------------------------- the selection page


def _selection_body(page: Selection, hv: str) -> str:
    request = page.request
    head = _banner(request.detail("banner_url")) + _summary(
        [
            ("お支払い先", request.detail("merchant_name")),
            ("ご請求内容", request.claim_kanji),
            ("お支払い金額", f"{request.amount:,}円"),
            ("銀行の選択期限", _when(request.limit_at)),
        ]
    )
    memo = f"<p>{escape(request.detail('free_memo'))}</p>" if request.detail("free_memo") else ""
    back = _link(request.detail("stop_return_url"), "お支払いをやめてショップに戻る")
    footer = _copyright(request.detail("copy_right"))
    if page.closed:
        return head + _message(KessaiError(page.closed).message) + back + footer
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(value)}">'
        for name, value in (
            ("mid", str(page.merchant.id)),
            ("tid", request.trading_id),
            ("hv", hv),
        )
    )
    buttons = "".join(
        f'<p><button type="submit" name="bank_code" value="{escape(bank.code)}">'
        f"{escape(bank.name)}</button></p>"
        for bank in page.banks
    )
    form = (
        f'<form method="post" action="{ASP_PATH}" accept-charset="utf-8">{hidden}'
        f"<p>お支払いに使う銀行を選んでください。</p>{buttons}</form>"
    )
    return head + memo + form + back + footer


# ---------------------------------------------------------------- the bank's page


def _bank_title(page: AtBank) -> str:
    return f"{page.bank.name} インターネットバンキング（テスト環境）"


def _bank_body(page: AtBank) -> str:
    request = page.request
    payee = request.detail("receipt_name") or request.detail("merchant_name")
    summary = _summary(
        [
            ("お支払い先", payee),
            ("受取人名（カナ）", request.detail("receipt_name_kana")),
            ("ご請求内容", request.claim_kanji),
            ("お支払い金額", f"{page.payment.amount:,}円"),
            ("受付番号", page.reference),
            ("お支払い期限", _when(page.payment.due_at)),
        ]
    )
    note = "<p>これはKessaiのテスト用の銀行画面です。実際の口座からは引き落とされません。</p>"
    if page.closed:
        return note + summary + _message(KessaiError(page.closed).message)
    form = (
        '<form method="post" accept-charset="utf-8">'
        '<p><label>ログインID <input name="login_id" autocomplete="off"></label></p>'
        '<p><label>パスワード <input name="password" type="password"></label></p>'
        '<p><button type="submit" name="action" value="pay">支払う</button></p>'
        '<p><button type="submit" name="action" value="fail">'
        "支払いに失敗する（残高不足のテスト）</button></p>"
        '<p><button type="submit" name="action" value="abandon">'
        "支払わずにショップに戻る</button></p></form>"
    )
    return note + summary + form


def _after_bank(core: Core, page: AtBank, action: str) -> Response:
    """Where the buyer goes after answering at the bank (the payment is already settled)."""
    request = page.request
    if action == "abandon":
        return _redirect_or_page(request.detail("stop_return_url"), "お支払いを中止しました")
    return_url = request.detail("return_url")
    if page.returns_result and return_url:
        result = {
            "result": page.result,
            "payment_id": str(page.payment.payment_id),
            "trading_id": page.payment.trading_id,
        }
        return RedirectResponse(_with_query(return_url, result), 303)
    if page.result == "0":
        return _redirect_or_page(return_url, "お支払いが完了しました")
    if page.result == "2":
        return _html("お支払いの確認中", _message("銀行での結果を確認しています。"))
    again = ""
    if not request.bank_code:  # chosen on the selection page (060): another bank may be tried
        again = _link(
            asp_url("", core.secret, page.merchant.id, request.trading_id), "別の銀行を選ぶ"
        )
    back = _link(request.detail("stop_return_url"), "ショップに戻る")
    return _html(
        "お支払いできませんでした", _message("銀行でお支払いができませんでした。") + again + back
    )


def _redirect_or_page(url: str, title: str) -> Response:
    if url:
        return RedirectResponse(url, 303)
    return _html(title, _message(f"{title}。このページを閉じてください。"))


def _with_query(url: str, values: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(values.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


# ---------------------------------------------------------------- HTML bits


def _summary(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows if v)
    return f"<table>{cells}</table>"


def _banner(url: str) -> str:
    return f'<p><img src="{escape(url)}" alt="" style="max-width:100%"></p>' if url else ""


def _copyright(text: str) -> str:
    return f"<p><small>{escape(text)}</small></p>" if text else ""


def _link(url: str, text: str) -> str:
    return f'<p><a href="{escape(url)}">{escape(text)}</a></p>' if url else ""


def _message(text: str) -> str:
    return f"<p><strong>{escape(text)}</strong></p>"


def _when(moment: datetime | None) -> str:
    return "" if moment is None else as_utc(moment).astimezone(JST).strftime("%Y年%m月%d日 %H:%M")


def _not_found() -> HTMLResponse:
    return _html("ページが見つかりません", "<p>URLをご確認ください。</p>", 404)


def _html(title: str, body: str, status: int = 200) -> HTMLResponse:
    page = (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family:sans-serif;max-width:40em;margin:1em auto;padding:0 1em">'
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(page, status)
