"""The 3-D Secure timeout notice (paygent-protocol.md §1.5 450): a GET to term_url, sent by the
gateway when nobody authenticated within 30 minutes. The core times authentications out and leases
the due notices (kessai.core.threeds.timeouts); this module only sends, outside any transaction.
A 2xx or 3xx answer (redirects are not followed) delivers the notice.
"""

from __future__ import annotations

import logging

import httpx

from kessai.config import Settings
from kessai.core.context import Core
from kessai.core.threeds import timeouts
from kessai.core.threeds.timeouts import TimeoutNotice
from kessai.worker.outbox import reaches_inside

log = logging.getLogger("kessai.worker.threeds")


def run_threeds_jobs(
    core: Core, settings: Settings, client: httpx.Client | None = None
) -> dict[str, int]:
    """Time out due authentications, then send the due timeout notices once each."""
    expired = timeouts.expire_due(core)
    notices = timeouts.claim_notices(core)
    if not notices:
        return {"threeds_timed_out": expired, "threeds_notices_delivered": 0}
    http = client or httpx.Client(timeout=settings.notify_timeout)
    try:
        delivered = sum(_deliver(core, http, notice) == "delivered" for notice in notices)
    finally:
        if client is None:
            http.close()
    return {"threeds_timed_out": expired, "threeds_notices_delivered": delivered}


def _deliver(core: Core, http: httpx.Client, notice: TimeoutNotice) -> str:
    ok, error = _send(http, notice)
    outcome = timeouts.record_notice(core, notice, delivered=ok, error=error)
    # The auth id only: the URL carries the merchant's parameters and the signed result.
    log.info("3-D Secure timeout notice %s: try %d %s", notice.auth_id, notice.attempt, outcome)
    return outcome


def _send(http: httpx.Client, notice: TimeoutNotice) -> tuple[bool, str]:
    if notice.merchant_mode == "production" and reaches_inside(notice.url):
        return False, "term_url resolves to an internal address"
    try:
        response = http.get(notice.url, follow_redirects=False)
    except httpx.HTTPError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 400:
        return True, ""
    return False, f"HTTP {response.status_code}"
