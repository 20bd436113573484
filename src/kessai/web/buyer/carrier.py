"""The simulated carrier pages (キャリア決済画面) the buyer is sent to by 100's redirect_url /
redirect_html and 104's: log in, then approve (承認) or cancel, and back to the merchant.

Plain HTML, Japanese, no JavaScript and no CSS file: forms POST back to the same URL, whose HMAC
token keeps payment IDs from being walked. The pages are the sandbox carrier's; a tester picks the
carrier's answer (approved, or refused) on the confirmation step. The browser returns to the
merchant by GET (303 after the form): `return_url` with payment_id, trading_id, career_payment_id,
accept_date and payment_class; `cancel_url` / `other_url` with payment_id and trading_id; 104's
`redirect_url` with open_id (paygent-protocol.md §1.5 100–105).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from kessai.connectors.base import CarrierConsent
from kessai.core.context import Core
from kessai.core.payments.carrier import commands as carrier
from kessai.core.payments.carrier import openid as carrier_openid
from kessai.core.payments.carrier.openid import OpenIdView
from kessai.core.payments.carrier.states import CarrierStatus
from kessai.core.payments.views import PaymentView
from kessai.kit.errors import InProgress, KessaiError, NotFound
from kessai.web.buyer.html import read_form

# The carriers' colours and what their login asks for (the carriers' own wording; no logos).
BRANDS: dict[str, tuple[str, str]] = {
    "2": ("#eb5505", "au ID"),
    "4": ("#eb5505", "au ID"),
    "5": ("#cc0033", "dアカウントID"),
    "6": ("#5a5a5a", "携帯電話番号"),
    "7": ("#5a5a5a", "携帯電話番号"),
}
Form = Mapping[str, str]


def with_params(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` added to its query (kept before any #fragment)."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def return_url(view: PaymentView) -> str:
    """Where an approved payment's buyer goes back to (return_url, §1.5 100)."""
    return with_params(
        view.detail("return_url"),
        {
            "payment_id": str(view.payment_id),
            "trading_id": view.trading_id,
            "career_payment_id": view.detail("career_payment_id"),
            "accept_date": view.detail("accept_date"),
            "payment_class": view.detail("payment_class"),
        },
    )


def leave_url(view: PaymentView, target: str = "cancel_url") -> str:
    """Where a buyer who did not pay goes back to (cancel_url, or d払い's other_url)."""
    ids = {"payment_id": str(view.payment_id), "trading_id": view.trading_id}
    return with_params(view.detail(target), ids)


@dataclass(frozen=True)
class CarrierPages:
    core: Core

    async def pay(self, request: Request) -> Response:
        form = await read_form(request)
        return await run_in_threadpool(
            self._pay, request.path_params["payment_id"], request.path_params["token"], form
        )

    async def login(self, request: Request) -> Response:
        form = await read_form(request)
        return await run_in_threadpool(
            self._login, request.path_params["grant_id"], request.path_params["token"], form
        )

    # ------------------------------------------------------------ 100: pay

    def _pay(self, payment_id: str, token: str, form: Form) -> Response:
        try:
            consent = carrier.consent(self.core, int(payment_id), token)
        except (NotFound, ValueError):
            return _not_found()
        step = form.get("step", "entry")
        view = consent.payment
        if view.status != CarrierStatus.APPLIED:
            return _settled(consent)
        if step == "cancel" or (step == "other" and view.detail("other_url")):
            return self._leave(consent, token, step)
        if step == "approve":
            return self._approve(consent, token, form)
        login_id = form.get("login_id", "").strip()
        if not consent.needs_login or (step == "login" and login_id):
            return _page(consent, _confirm(consent, login_id))
        return _page(consent, _login(consent, error=step == "login"))  # an ID is needed

    def _approve(self, consent: carrier.Consent, token: str, form: Form) -> Response:
        view = consent.payment
        # Any ID logs in on the sandbox carrier, so approving with one (a script can) is enough.
        login_id = form.get("login_id", "").strip()
        if not consent.needs_login:
            login_id = view.detail("login_id")
        elif not login_id:
            return _page(consent, _login(consent, error=True))
        outcome = "ng" if form.get("test_outcome") == "ng" else "ok"
        try:
            result = carrier.approve(
                self.core, view.payment_id, token, CarrierConsent(login_id, outcome)
            )
        except InProgress:
            return _page(consent, _BUSY)
        except KessaiError:
            return _settled(carrier.consent(self.core, view.payment_id, token))
        if result.ok and result.payment is not None:
            return RedirectResponse(return_url(result.payment), status_code=303)
        if result.payment is not None and result.payment.status == CarrierStatus.APPLIED:
            return _page(consent, _BUSY)  # the carrier's answer is not known yet
        why = _WHY.get(result.response_code, _REFUSED)
        return _settled(carrier.consent(self.core, view.payment_id, token), why)

    def _leave(self, consent: carrier.Consent, token: str, step: str) -> Response:
        view = consent.payment
        why = "他の支払方法を選択" if step == "other" else "キャンセル"
        try:
            left = carrier.abandon(self.core, view.payment_id, token, why=why)
        except KessaiError:  # approved meanwhile
            return _settled(carrier.consent(self.core, view.payment_id, token))
        target = "other_url" if step == "other" else "cancel_url"
        return RedirectResponse(leave_url(left, target), status_code=303)

    # ------------------------------------------------------------ 104: log in for an OpenID

    def _login(self, grant_id: str, token: str, form: Form) -> Response:
        try:
            view = carrier_openid.pending(self.core, int(grant_id), token)
        except (NotFound, ValueError):
            return _not_found()
        step = form.get("step", "entry")
        if view.status == carrier_openid.PENDING and step == "cancel":
            view = carrier_openid.go_back(self.core, view.grant_id, token)
        login_id = form.get("login_id", "").strip()
        if view.status == carrier_openid.PENDING and step == "login" and login_id:
            view = carrier_openid.log_in(self.core, view.grant_id, token, login_id)
        if view.status == carrier_openid.ACTIVE:
            target = with_params(view.redirect_url, {"open_id": view.open_id})
            return RedirectResponse(target, status_code=303)
        if view.status != carrier_openid.PENDING:
            return RedirectResponse(view.cancel_url, status_code=303)
        body = _openid_login(view, error=step == "login")
        return HTMLResponse(_html(view.table.name, _color(view.career_type), body))


# ---------------------------------------------------------------- the pages


def _login(consent: carrier.Consent, error: bool) -> str:
    view = consent.payment
    label = BRANDS[view.detail("career_type")][1]
    warning = f"<p><strong>{escape(label)}を入力してください。</strong></p>" if error else ""
    other = _other_button(consent)
    return (
        f"{_summary(consent)}<h2>ログイン</h2>{warning}"
        '<form method="post"><input type="hidden" name="step" value="login">'
        f'<p><label>{escape(label)}<br><input name="login_id" size="24"></label></p>'
        '<p><label>パスワード<br><input name="password" type="password" size="24"></label></p>'
        "<p><small>テスト環境: どのIDとパスワードでもログインできます。</small></p>"
        '<p><input type="submit" value="ログイン"></p></form>'
        f"{_cancel_button()}{other}"
    )


def _confirm(consent: carrier.Consent, login_id: str) -> str:
    if consent.needs_login:
        who = f"<p>{escape(login_id)} でログイン中</p>"
        hidden = f'<input type="hidden" name="login_id" value="{escape(login_id)}">'
    else:
        who, hidden = "<p>ご登録済みのアカウントでお支払いします。</p>", ""
    return (
        f"{_summary(consent)}<h2>お支払い内容の確認</h2>{who}"
        f"<p>ご利用代金は、{escape(consent.table.name)}で携帯電話のご利用料金と"
        "合わせてお支払いいただきます。</p>"
        '<form method="post"><input type="hidden" name="step" value="approve">'
        f"{hidden}"
        '<p><label>テスト環境: キャリアの応答 <select name="test_outcome">'
        '<option value="ok">承認する</option>'
        '<option value="ng">与信NG（利用限度額超過）</option></select></label></p>'
        '<p><input type="submit" value="承認する"></p></form>'
        f"{_cancel_button()}{_other_button(consent)}"
    )


def _summary(consent: carrier.Consent) -> str:
    view = consent.payment
    rows = [
        ("ご利用サイト", consent.shop_name),
        ("ご利用内容", view.detail("outline")),
        ("お支払い金額", f"{view.amount:,}円"),
    ]
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows if v)
    return f"<table>{cells}</table>"


def _cancel_button() -> str:
    return (
        '<form method="post"><input type="hidden" name="step" value="cancel">'
        '<input type="submit" value="キャンセル（ショップに戻る）"></form>'
    )


def _other_button(consent: carrier.Consent) -> str:
    if not consent.payment.detail("other_url"):
        return ""
    return (
        '<form method="post"><input type="hidden" name="step" value="other">'
        '<input type="submit" value="他の支払方法を選ぶ"></form>'
    )


def _openid_login(view: OpenIdView, error: bool) -> str:
    label = BRANDS[view.career_type][1]
    warning = f"<p><strong>{escape(label)}を入力してください。</strong></p>" if error else ""
    return (
        "<h2>ご本人確認（ログイン）</h2>"
        "<p>ショップでのお支払いに、このアカウントを利用します。</p>"
        f"{warning}"
        '<form method="post"><input type="hidden" name="step" value="login">'
        f'<p><label>{escape(label)}<br><input name="login_id" size="24"></label></p>'
        '<p><label>パスワード<br><input name="password" type="password" size="24"></label></p>'
        "<p><small>テスト環境: どのIDとパスワードでもログインできます。</small></p>"
        '<p><input type="submit" value="ログイン"></p></form>'
        '<form method="post"><input type="hidden" name="step" value="cancel">'
        '<input type="submit" value="戻る"></form>'
    )


_CLOSED = "<p><strong>このお支払いの受付は終了しています。</strong></p>"
_REFUSED = "<p><strong>お支払いできませんでした。</strong></p><p>キャリアでお支払いが承認されませんでした。</p>"
_TOO_LATE = "<p><strong>お支払いできませんでした。</strong></p><p>受付時間を過ぎています。</p>"
_PAID_ELSEWHERE = (
    "<p><strong>お支払いできませんでした。</strong></p>"
    "<p>このご注文は別のお支払い方法で既にお支払い（またはお支払い番号の発行）が済んでいます。</p>"
)
_WHY = {"2007": _TOO_LATE, "6001": _PAID_ELSEWHERE}
_BUSY = (
    "<p>キャリアで処理中です。少し待ってからもう一度お試しください。</p>"
    '<form method="post"><input type="hidden" name="step" value="entry">'
    '<input type="submit" value="状況を確認する"></form>'
)


def _settled(consent: carrier.Consent, why: str = _CLOSED) -> Response:
    """A payment no longer waiting for the buyer: back to the shop if approved, else a notice
    with the way back (cancel_url)."""
    view = consent.payment
    if view.authorized_at is not None:
        return RedirectResponse(return_url(view), status_code=303)
    if view.status == CarrierStatus.APPLIED:
        return _page(consent, _BUSY)
    link = f'<p><a href="{escape(leave_url(view))}">ショップに戻る</a></p>'
    return _page(consent, why + link)


def _not_found() -> HTMLResponse:
    body = "<p>URLをご確認ください。</p>"
    return HTMLResponse(_html("ページが見つかりません", _color(""), body), 404)


def _page(consent: carrier.Consent, body: str) -> HTMLResponse:
    career_type = consent.payment.detail("career_type")
    return HTMLResponse(_html(consent.table.name, _color(career_type), body))


def _color(career_type: str) -> str:
    return BRANDS.get(career_type, ("#5a5a5a", ""))[0]


def _html(title: str, color: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family:sans-serif;max-width:36em;margin:0 auto;padding:0 1em">'
        f'<div style="background:{color};color:#fff;padding:.6em 1em;margin:0 -1em">'
        f"<strong>{escape(title)}</strong>（テスト環境）</div>"
        f"{body}"
        "<hr><p><small>Kessaiのテスト用キャリア画面です。実際のご請求はありません。</small></p>"
        "</body></html>"
    )
