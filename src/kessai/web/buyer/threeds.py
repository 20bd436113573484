"""The simulated ACS (the card issuer's 3-D Secure page) that 450's `out_acs_html` and the hosted
payment page send the buyer to: `GET /3ds/acs/{auth_id}/{token}`.

A frictionless answer (or an error) goes straight back to the merchant: 303 to term_url with the
result. A challenge shows a password page — plain HTML, Japanese and English, no JavaScript, no
CSS — whose form POSTs to the same URL; the ACS's decision then goes back by 303 too, so the
browser reaches term_url with a GET. The form carries a token bound to the ACS URL, and a POST
whose `Origin` (when the browser sends one) is not this gateway's is refused. Responses carry a
strict Content-Security-Policy (the form may lead only here and, by the redirect, to term_url's
origin), `no-store`, and a same-origin referrer policy: the URL's token must not reach the
merchant's logs.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from kessai.core.context import Core
from kessai.core.payments import later
from kessai.core.threeds import commands as threeds
from kessai.core.threeds.commands import AcsView
from kessai.core.threeds.rules import CHALLENGE
from kessai.kit.errors import NotFound
from kessai.web.buyer.html import read_form

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")  # what may go into the CSP header
ROUTE = threeds.ACS_PATH + "/{auth_id}/{token}"


def csrf_token(secret: bytes, acs_token: str) -> str:
    """The challenge form's token, bound to the ACS URL's own token."""
    return later.page_token(secret, "threeds-form", acs_token)


@dataclass(frozen=True)
class AcsPages:
    core: Core
    public_url: str | None = None  # where buyers reach the gateway (KESSAI_PUBLIC_URL)

    async def handle(self, request: Request) -> Response:
        auth_id, token = request.path_params["auth_id"], request.path_params["token"]
        if request.method != "POST":
            return await run_in_threadpool(self._show, auth_id, token, request.url.path)
        form = await read_form(request)
        if not self._same_origin(request) or not hmac.compare_digest(
            form.get("csrf", ""), csrf_token(self.core.secret, token)
        ):
            return _refused()
        password = form.get("password", "")
        return await run_in_threadpool(self._answer, auth_id, token, password, request.url.path)

    def _show(self, auth_id: str, token: str, path: str) -> Response:
        try:
            view = threeds.acs_view(self.core, auth_id, token)
        except NotFound:
            return _not_found()
        return self._respond(view, token, path)

    def _answer(self, auth_id: str, token: str, password: str, path: str) -> Response:
        try:
            view = threeds.answer_challenge(self.core, auth_id, token, password)
        except NotFound:
            return _not_found()
        return self._respond(view, token, path)

    def _respond(self, view: AcsView, token: str, path: str) -> Response:
        if view.redirect_url:
            return RedirectResponse(view.redirect_url, status_code=303, headers=_HEADERS)
        if view.status == CHALLENGE:
            body = _challenge(view, csrf_token(self.core.secret, token), path)
        else:
            body = _NO_ANSWER
        return _html(body, view.term_origin)

    def _same_origin(self, request: Request) -> bool:
        """No Origin (text browsers, older ones) passes; one from another site does not."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        allowed = {_origin(str(request.base_url))}
        if self.public_url:
            allowed.add(_origin(self.public_url))
        return origin.rstrip("/") in allowed


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# ---------------------------------------------------------------- the pages


def _challenge(view: AcsView, csrf: str, path: str) -> str:
    warning = ""
    if view.unrecognised:
        warning = (
            "<p><strong>パスワードが正しくありません。あと"
            f"{view.tries_left}回入力できます。<br>The password is not correct: "
            f"{view.tries_left} tries left.</strong></p>"
        )
    return (
        "<h1>本人認証 / Cardholder authentication</h1>"
        "<p>カード発行会社（テスト環境のACS）がご本人確認のためパスワードを求めています。<br>"
        "Your card issuer (the sandbox ACS) asks for your password.</p>"
        f"{_summary(view)}{warning}"
        f'<form method="post" action="{escape(path)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        '<p><label>パスワード / Password<br><input type="password" name="password"'
        ' size="16" autocomplete="off"></label></p>'
        '<p><input type="submit" value="認証する / Authenticate"></p></form>'
        "<p><small>テスト環境のパスワード / Sandbox passwords: 14012 成功 success,"
        " 14042 失敗 failure, 14052 アテンプト attempt</small></p>"
    )


def _summary(view: AcsView) -> str:
    rows = (
        ("加盟店 / Merchant", view.merchant_name),
        ("金額 / Amount", f"{view.amount:,}円 ({view.currency_code})"),
        ("カード / Card", f"{view.card_brand} {view.masked_card_number}"),
    )
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


_NO_ANSWER = (
    "<h1>本人認証 / Cardholder authentication</h1>"
    "<p>カード発行会社から応答がありません。しばらくしてからもう一度お試しください。<br>"
    "The card issuer does not answer. Please try again later.</p>"
)

# same-origin: term_url never sees the ACS URL (its token) as a referrer, while the page's own
# form POST still carries its real Origin (Chromium sends "Origin: null" under no-referrer).
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


def _html(body: str, term_origin: str = "", status: int = 200) -> HTMLResponse:
    page = (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # An empty icon: no /favicon.ico request, no 404 on the gateway.
        '<link rel="icon" href="data:,">'
        f"<title>3-D Secure</title></head><body>{body}</body></html>"
    )
    # The challenge form posts here, and its answer redirects to term_url: Chrome checks
    # form-action against redirects too, so term_url's origin is allowed.
    term = term_origin if _ORIGIN.fullmatch(term_origin) else ""
    form_action = " ".join(filter(None, ("'self'", term)))
    csp = (
        "default-src 'none'; style-src 'self'; img-src data:; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )
    headers = {
        **_HEADERS,
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }
    return HTMLResponse(page, status_code=status, headers=headers)


def _not_found() -> HTMLResponse:
    body = "<h1>ページが見つかりません / Page not found</h1><p>URLをご確認ください。</p>"
    return _html(body, status=404)


def _refused() -> HTMLResponse:
    body = (
        "<h1>リクエストを受け付けられません / Request refused</h1>"
        "<p>認証ページからもう一度お試しください。<br>"
        "Please try again from the authentication page.</p>"
    )
    return _html(body, status=403)
