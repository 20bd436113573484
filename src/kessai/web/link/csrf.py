"""CSRF protection of the hosted page's forms, without server-side sessions.

The browser holds a random cookie (HttpOnly, SameSite=Lax, scoped to /link); each form carries
HMAC(server secret, cookie | page token) in a hidden field. A POST is refused when the cookie or
the field is missing or does not match, when the browser says the request is cross-site
(`Sec-Fetch-Site: cross-site`), or when it names a foreign `Origin`. `Origin: null` is accepted:
with `Referrer-Policy: no-referrer` browsers send it for our own same-origin forms, and the token
check already refuses a forged form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "kessai_link"
FIELD = "csrf"
COOKIE_PATH = "/link"


def cookie_of(request: Request) -> str:
    """The browser's CSRF cookie, or a new random value to set (see `remember`)."""
    value = request.cookies.get(COOKIE, "")
    return value if _well_formed(value) else secrets.token_urlsafe(18)


def remember(response: Response, request: Request, value: str, *, secure: bool) -> None:
    """Set the cookie on `response` unless the browser sent this value already."""
    if request.cookies.get(COOKIE) == value:
        return
    response.set_cookie(
        COOKIE, value, path=COOKIE_PATH, httponly=True, samesite="lax", secure=secure
    )


def token(secret: bytes, cookie: str, page_token: str) -> str:
    """The hidden field's value for the forms of one page in one browser."""
    message = f"link-csrf|{cookie}|{page_token}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def refused(
    request: Request, form: Mapping[str, str], secret: bytes, page_token: str, origins: set[str]
) -> str:
    """Why a POST is refused ('' when it is fine): the reason goes to the log, never the form."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return "cross-site request"
    sent_origin = request.headers.get("origin", "")
    if sent_origin and sent_origin != "null" and sent_origin not in origins:
        return "foreign Origin"
    cookie = request.cookies.get(COOKIE, "")
    if not _well_formed(cookie):
        return "no CSRF cookie"
    expected = token(secret, cookie, page_token)
    if not hmac.compare_digest(form.get(FIELD, ""), expected):
        return "wrong CSRF token"
    return ""


def _well_formed(value: str) -> bool:
    return 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum()
