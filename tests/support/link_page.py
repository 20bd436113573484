"""A buyer on the hosted page, over plain HTTP: follows links, fills and submits the page's forms
as a browser without JavaScript would (cookies kept, the form's own defaults sent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

from kessai.app import Runtime
from kessai.core.payments.models import Payment

OK_CARD = "4900000000000000"
DECLINED_CARD = "4900000000008101"  # auth NG 2002 / 1C01 (§4)


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    """The forms of a page by id: each input's value as the browser would send it untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, Form] = {}
        self._form: Form | None = None
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""))
            self.forms[a.get("id", str(len(self.forms)))] = self._form
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            self._input(a)
        elif tag == "select":
            self._select, self._first_option = a.get("name"), None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
                self._form.fields.setdefault(self._select, self._first_option)
            if "selected" in a:
                self._form.fields[self._select] = a.get("value", "")

    def _input(self, a: dict[str, str]) -> None:
        assert self._form is not None
        kind = a.get("type", "text")
        if kind in ("radio", "checkbox"):
            if "checked" in a:
                self._form.fields[a["name"]] = a.get("value", "on")
        elif kind != "submit":
            self._form.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_of(html: str) -> dict[str, Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class Shopper:
    """One browser: its cookies, the last page, and what every response sent back (for the
    card-number search)."""

    def __init__(self, base_url: str, **headers: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, timeout=30, headers=headers)
        self.seen: list[str] = []
        self.last: httpx.Response | None = None

    def get(self, url: str) -> httpx.Response:
        return self._keep(self.client.get(url))

    def follow(self, response: httpx.Response, limit: int = 5) -> httpx.Response:
        """Follow 3xx redirects that stay on the gateway (the shop's URLs are not fetched)."""
        while response.is_redirect and limit:
            target = urljoin(str(response.url), response.headers["location"])
            if not target.startswith(self.base_url):
                return response
            response = self.get(target)
            limit -= 1
        return response

    def submit(
        self, form_id: str, *, page: httpx.Response | None = None, **values: str
    ) -> httpx.Response:
        page = page or self.last
        assert page is not None
        form = forms_of(page.text)[form_id]
        data = {**form.fields, **values}
        action = urljoin(str(page.url), form.action)
        return self._keep(self.client.post(action, data=data))

    def _keep(self, response: httpx.Response) -> httpx.Response:
        self.seen.append(response.text)
        self.last = response
        return response

    def close(self) -> None:
        self.client.close()


def payments_of(runtime: Runtime, merchant_id: int, trading_id: str) -> list[Payment]:
    from sqlalchemy import select

    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(Payment).where(
                    Payment.merchant_id == merchant_id, Payment.trading_id == trading_id
                )
            )
        )
