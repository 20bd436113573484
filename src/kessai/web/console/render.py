"""Pages: Jinja2 templates (autoescaped), the console's filters, and the security headers every
console response carries (a strict CSP: our own script and stylesheet only, nothing inline, no
third party, no framing)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, Response

from kessai.core.payments import labels
from kessai.kit.clock import JST, as_utc
from kessai.web.headers import page_headers

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"
)


def security_headers(response: Response, *, secure: bool) -> Response:
    return page_headers(response, csp=CSP, secure=secure)


def jst(moment: datetime | None, fmt: str = "%Y/%m/%d %H:%M:%S") -> str:
    return "" if moment is None else as_utc(moment).astimezone(JST).strftime(fmt)


def jst_date(moment: datetime | None) -> str:
    return jst(moment, "%Y/%m/%d")


def yen(amount: int | None) -> str:
    return "" if amount is None else f"{amount:,}円"


def iso_day(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("kessai.web.console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        jst=jst,
        jst_date=jst_date,
        yen=yen,
        method_name=labels.method_name,
        institution=labels.institution_name,
    )
    env.globals.update(status_name=labels.status_name)
    return env


ENV = _environment()


def page(
    template: str, context: Mapping[str, Any], *, status_code: int = 200, secure: bool = False
) -> HTMLResponse:
    html = ENV.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)


def no_certificate(secure: bool) -> Response:
    """The 403 page for a request that came without the user's client certificate."""
    return security_headers(page("no_certificate.html", {}, status_code=403), secure=secure)
