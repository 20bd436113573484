"""Rendering the hosted page: Jinja2 (autoescaped) in the buyer's language, and the headers every
response of the page carries.

The Content-Security-Policy has no `script-src` at all (`default-src 'none'` forbids every script:
PCI DSS 6.4.3 / 11.6.1 ask what scripts a payment page runs, and the answer is none). A page may
widen `img-src` to the merchant's banner origin and `form-action` to the merchant's return origin,
each for that one response, because Chromium applies `form-action` to a form POST's redirects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, Response

from kessai.core.link.params import url_host
from kessai.web.headers import page_headers
from kessai.web.link import i18n

CSP_BASE = {
    "default-src": "'none'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}


def csp(*, images: str = "", forms: str = "") -> str:
    """The policy, with one extra origin for images (banner) or form targets (return_url)."""
    policy = dict(CSP_BASE)
    if images:
        policy["img-src"] += f" {images}"
    if forms:
        policy["form-action"] += f" {forms}"
    return "; ".join(f"{name} {value}" for name, value in policy.items())


def origin(url: str) -> str:
    """`scheme://host[:port]` of an absolute http(s) URL with a plain host; '' for anything else.
    Rebuilt from the parsed host and port, so nothing else of the URL (a `;` ending the directive,
    a `,`, a quote) can reach the Content-Security-Policy header."""
    parsed = url_host(url)
    if parsed is None:
        return ""
    scheme, host, port = parsed
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def secure_headers(
    response: Response, *, secure: bool, images: str = "", forms: str = ""
) -> Response:
    # The page URL holds its token: no-referrer keeps it from banner hosts, banks and the merchant.
    return page_headers(response, csp=csp(images=images, forms=forms), secure=secure)


def _environment(language: str) -> Environment:
    env = Environment(
        loader=PackageLoader("kessai.web.link", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(i18n.TRANSLATIONS[language], newstyle=True)  # type: ignore[attr-defined]
    env.filters["yen"] = lambda amount: i18n.yen(amount, language)
    env.filters["when"] = lambda moment: i18n.when(moment, language)
    return env


# One environment per language: translations are fixed per environment, so renders in different
# languages on different threads never see each other's catalog.
ENVIRONMENTS = {language: _environment(language) for language in i18n.LANGUAGES}


def render(template: str, language: str, context: Mapping[str, Any]) -> str:
    return ENVIRONMENTS[language].get_template(template).render(**context)


def html(
    template: str,
    language: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    secure: bool = False,
    images: str = "",
    forms: str = "",
) -> HTMLResponse:
    # `secure`: the page may say the connection is encrypted only when it is.
    page = render(template, language, {**context, "secure": secure})
    response = HTMLResponse(page, status_code=status_code)
    secure_headers(response, secure=secure, images=images, forms=forms)
    return response
