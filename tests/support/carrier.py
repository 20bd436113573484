"""Carrier billing in tests: 100/104 over the module protocol, and a buyer who clicks through the
sandbox carrier's pages with plain form posts (no JavaScript), as a simple phone browser would."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select

from kessai.app import Runtime
from kessai.core.merchants.commands import NewMerchant
from kessai.core.payments.models import Payment, PaymentEvent
from kessai.worker.scheduler import run_jobs_once
from tests.conftest import TestClock
from tests.support.telegrams import Reply, send

PATH = "/n/c/request"
AU_MATOMETE, AU_KANTAN, DOCOMO, SOFTBANK_B, SOFTBANK_A = "2", "4", "5", "6", "7"
SHOP = "https://shop.example"
RETURN_URL = f"{SHOP}/carrier/return?order=42"
CANCEL_URL = f"{SHOP}/carrier/cancel"
OTHER_URL = f"{SHOP}/checkout/methods"


def apply(
    server: str,
    merchant: NewMerchant,
    career_type: str = "4",
    trading_id: str = "CR1",
    **extra: str | int,
) -> Reply:
    """A 100 for 1,000 yen (fields in `extra` replace the defaults)."""
    fields: dict[str, str | int] = {
        "career_type": career_type,
        "amount": 1000,
        "return_url": RETURN_URL,
        "cancel_url": CANCEL_URL,
        "other_url": OTHER_URL,
        "outline": "テスト商品",
    } | extra
    return send(server, merchant, "100", path=PATH, trading_id=trading_id, **fields)


def telegram(server: str, merchant: NewMerchant, kind: str, **fields: str | int) -> Reply:
    return send(server, merchant, kind, path=PATH, **fields)


def inquire(server: str, merchant: NewMerchant, **ids: str) -> Reply:
    return send(server, merchant, "094", **ids)


def paid(server: str, merchant: NewMerchant, career_type: str = "4", **extra: str | int) -> str:
    """The payment_id of a 100 the buyer approved on the carrier's page."""
    reply = apply(server, merchant, career_type, **extra)
    assert reply.result == "0", reply.fields
    assert Buyer().pay(reply).status_code == 303
    return reply["payment_id"]


def payments(runtime: Runtime, merchant: NewMerchant) -> int:
    with runtime.core.sessions() as session:
        query = select(func.count()).where(Payment.merchant_id == merchant.merchant_id)
        return int(session.scalar(query) or 0)


def history(runtime: Runtime, payment_id: str | int) -> list[str]:
    """The statuses the payment went through, its application first."""
    with runtime.core.sessions() as session:
        rows = session.scalars(
            select(PaymentEvent.to_status)
            .where(PaymentEvent.payment_id == int(payment_id))
            .order_by(PaymentEvent.id)
        )
        return list(rows)


def run_after(runtime: Runtime, clock: TestClock, delta: timedelta) -> None:
    """Let `delta` pass, then one pass of the worker."""
    clock.advance(delta)
    run_jobs_once(runtime.core, runtime.settings)


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


@dataclass
class Buyer:
    """A browser without JavaScript: follows nothing by itself, posts the pages' forms."""

    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    url: str = ""
    page: str = ""

    def open(self, reply: Reply) -> httpx.Response:
        """The carrier's page from a 100/104 answer: GET redirect_url, or post redirect_html's form."""
        if reply["redirect_url"]:
            self.url = reply["redirect_url"]
            response = self.http.get(self.url)
        else:
            form = reply["redirect_html"]
            match = re.search(r'action="([^"]+)"', form)
            assert match and 'name="form"' in form, form
            self.url = match.group(1)
            response = self.http.post(self.url, data=dict(_hidden_fields(form)))
        self.page = response.text
        return response

    def post(self, **data: str) -> httpx.Response:
        response = self.http.post(self.url, data=data)
        self.page = response.text
        return response

    def log_in(self, login_id: str = "09012345678") -> httpx.Response:
        return self.post(step="login", login_id=login_id, password="secret")

    def approve(self, outcome: str = "ok") -> httpx.Response:
        """Answer the confirmation step (logging in first if the page asks)."""
        if 'value="login"' in self.page:
            self.log_in()
        fields = dict(_hidden_fields(_form_with(self.page, "approve")))
        return self.post(**fields, test_outcome=outcome)

    def pay(self, reply: Reply, outcome: str = "ok") -> httpx.Response:
        self.open(reply)
        return self.approve(outcome)


def _form_with(page: str, step: str) -> str:
    for form in re.findall(r"<form.*?</form>", page, re.S):
        if f'name="step" value="{step}"' in form:
            return str(form)
    raise AssertionError(f"no {step} form on the page: {page}")


def _hidden_fields(form: str) -> list[tuple[str, str]]:
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
