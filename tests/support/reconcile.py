"""An order list that lands one order (or payment) in each of the seven classes of a
reconciliation (消し込み), the payments it is held against, and helpers to drive the console's
reconcile page over HTTP."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import httpx

from kessai.app import Runtime
from kessai.core.reconcile.classes import ReconClass
from tests.support.console import ConsoleClient, card_payment, cvs_payment, merchant_ref
from tests.support.money import card_refund

C = ReconClass


@dataclass(frozen=True)
class Orders:
    """The order lines (取引ID, amount) and, per class, the 取引IDs expected in it."""

    lines: list[tuple[str, int]]
    expected: dict[ReconClass, list[str]]

    def csv(self, header: tuple[str, str] = ("取引ID", "金額"), encoding: str = "utf-8") -> bytes:
        text = ",".join(header) + "\r\n"
        text += "".join(f"{trading_id},{amount}\r\n" for trading_id, amount in self.lines)
        return text.encode(encoding)

    def counts(self) -> dict[ReconClass, int]:
        return {cls: len(self.expected.get(cls, [])) for cls in ReconClass}


def every_class(runtime: Runtime, merchant_id: int) -> Orders:
    """Payments of `merchant_id` and an order list with one of each class (two matched: the
    first listing of an order listed twice is matched, the second a duplicate)."""
    p = f"R{uuid.uuid4().hex[:6].upper()}-"
    ids = {name: f"{p}{name}" for name in ("OK", "DIFF", "OPEN", "BACK", "TWICE", "EXTRA", "DUP")}
    card_payment(runtime, merchant_id, ids["OK"], 1_000, capture=True)
    card_payment(runtime, merchant_id, ids["DIFF"], 2_000, capture=True)
    cvs_payment(runtime, merchant_id, ids["OPEN"], 3_000)
    back = card_payment(runtime, merchant_id, ids["BACK"], 4_000, capture=True)
    card_refund(runtime, merchant_ref(runtime, merchant_id), back)
    card_payment(runtime, merchant_id, ids["TWICE"], 5_000, capture=True)
    card_payment(runtime, merchant_id, ids["TWICE"], 5_000, capture=True)
    card_payment(runtime, merchant_id, ids["EXTRA"], 6_000, capture=True)
    card_payment(runtime, merchant_id, ids["DUP"], 7_000, capture=True)
    lines = [
        (ids["OK"], 1_000),
        (ids["DIFF"], 2_500),
        (ids["OPEN"], 3_000),
        (ids["BACK"], 4_000),
        (ids["TWICE"], 5_000),
        (ids["DUP"], 7_000),
        (ids["DUP"], 7_000),
    ]
    expected = {
        C.MATCHED: [ids["OK"], ids["DUP"]],
        C.AMOUNT_DIFFERS: [ids["DIFF"]],
        C.UNPAID: [ids["OPEN"]],
        C.CANCELLED: [ids["BACK"]],
        C.PAID_TWICE: [ids["TWICE"]],
        C.UNMATCHED_PAYMENTS: [ids["EXTRA"]],
        C.DUPLICATE_ORDERS: [ids["DUP"]],
    }
    return Orders(lines, expected)


def upload(
    client: ConsoleClient, body: bytes, *, name: str = "orders.csv", **fields: str
) -> httpx.Response:
    """POST the order list as the page's form does (multipart, with the CSRF token)."""
    response = client.http.post(
        "/console/reconcile",
        data={"csrf_token": client.csrf, **fields},
        files={"orders": (name, body, "text/csv")},
    )
    client._remember(response)
    return response


def finished(client: ConsoleClient, started: httpx.Response, timeout: float = 60) -> httpx.Response:
    """Follow a started run's progress page until it ends: the result page, or the progress page
    with the run's error."""
    assert started.status_code == 303, started.text[:800]
    progress = started.headers["location"]
    assert progress.startswith("/console/reconcile/jobs/"), progress
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get(progress)
        if page.status_code == 303:
            return client.get(page.headers["location"])
        assert page.status_code == 200, page.text[:800]
        if 'id="job-error"' in page.text:
            return page
        time.sleep(0.05)
    raise AssertionError(f"the reconciliation at {progress} did not end in {timeout} s")
