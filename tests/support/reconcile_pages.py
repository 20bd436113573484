"""Driving the console's 消し込み page over HTTP (the upload as the form sends it, the progress
page followed to the end) and what `tests.support.reconcile.every_class` should show on it."""

from __future__ import annotations

import time

import httpx

from kessai.core.reconcile.classes import ReconClass
from tests.support.console import ConsoleClient
from tests.support.reconcile import EXPECTED

DUPLICATED = "M-1"  # listed twice in every_class's orders: the second listing is a duplicate


def expected_ids() -> dict[ReconClass, list[str]]:
    """Per class, the 取引IDs of every_class's result rows, in the order of the file."""
    found: dict[ReconClass, list[str]] = {cls: [] for cls in ReconClass}
    for trading_id, cls in EXPECTED.items():
        found[ReconClass(cls)].append(trading_id)
    found[ReconClass.DUPLICATE_ORDERS].append(DUPLICATED)
    return found


def expected_counts() -> dict[ReconClass, int]:
    return {cls: len(ids) for cls, ids in expected_ids().items()}


def with_header(orders: str, header: str) -> str:
    """The order list with its header line replaced (names Kessai does not recognise)."""
    return header + "\n" + orders.split("\n", 1)[1]


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
