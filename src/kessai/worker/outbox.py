"""Pushing notices to merchants (決済情報差分通知, paygent-protocol.md §1.6) over HTTP.

The core decides what is due and records what happened (kessai.core.notifications.delivery); this
module only sends: a form in Windows-31J with `hc`, read back with a size cap, classified into one
attempt outcome. Merchants are served concurrently by a small thread pool, one batch per merchant
at a time, so a slow or dead endpoint only ever delays its own notices. Within a batch up to
`notify_in_flight` notices are pushed at once over kept-alive connections (one shared client), and
their attempts are stored a group at a time (one transaction for the answers that came in while the
previous group was being stored). A batch holds at most one notice per payment
(core.notifications.delivery claims a payment's next notice only once the previous one is
delivered), so per-payment order holds, and a slow merchant holds at most that many sends of its
own and one merchant slot.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from types import TracebackType
from urllib.parse import quote_plus, urlsplit

import httpx

from kessai.config import Settings
from kessai.core.context import Core
from kessai.core.merchants.notification_url import is_internal_address, resolve_host
from kessai.core.notifications import delivery
from kessai.core.notifications.delivery import AttemptResult, Claim, DeliveryPolicy
from kessai.core.notifications.signing import push_form

log = logging.getLogger("kessai.worker.outbox")

CONTENT_TYPE = "application/x-www-form-urlencoded; charset=Windows-31J"
MAX_RESPONSE_BYTES = 64 * 1024
ACK = b"result=0"


def policy_from(settings: Settings) -> DeliveryPolicy:
    """The delivery policy of these settings; a merchant's batch must fit in one lease, even if
    every send of each of its `notify_in_flight` lanes takes the whole timeout."""
    per_lane = max(1, int(settings.notify_lease_seconds * 0.8 // settings.notify_timeout))
    return DeliveryPolicy(
        lease=timedelta(seconds=settings.notify_lease_seconds),
        horizon=timedelta(hours=settings.notify_retry_hours),
        per_merchant=per_lane * settings.notify_in_flight,
    )


def worker_id() -> str:
    """A lease owner name unique per process and run: host, pid, random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def encode_form(form: Mapping[str, str]) -> bytes:
    """`application/x-www-form-urlencoded` in Windows-31J, as everything PAYGENT sends."""
    return "&".join(
        f"{quote_plus(k)}={quote_plus(v, encoding='cp932', errors='replace')}"
        for k, v in form.items()
    ).encode("ascii")


class NoticeSender:
    """POSTs one notice and classifies what came back; never raises for what the merchant does."""

    def __init__(self, core: Core, timeout: float, client: httpx.Client | None = None) -> None:
        self._core = core
        self._timeout = timeout
        self._client = client or httpx.Client(
            timeout=timeout, follow_redirects=False, limits=httpx.Limits(max_connections=64)
        )

    def close(self) -> None:
        self._client.close()

    def send(self, claim: Claim) -> AttemptResult:
        started, t0 = self._core.clock.now(), time.monotonic()
        try:
            outcome, status, body, error = self._post(claim, t0 + self._timeout)
        except httpx.TimeoutException as exc:
            outcome, status, body, error = "timeout", None, b"", _describe(exc)
        except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            outcome, status, body, error = "connection_error", None, b"", _describe(exc)
        except Exception as exc:  # a garbage answer must not stop the worker
            outcome, status, body, error = "bad_response", None, b"", _describe(exc)
        return AttemptResult(
            outcome=outcome,
            started_at=started,
            duration_ms=int((time.monotonic() - t0) * 1000),
            http_status=status,
            excerpt=body[: delivery.EXCERPT_CHARS * 2].decode("cp932", errors="replace"),
            error=error,
        )

    def _post(self, claim: Claim, deadline: float) -> tuple[str, int | None, bytes, str]:
        """(outcome, HTTP status, answer, error) of one POST; transport errors raise."""
        if claim.merchant_mode == "production" and reaches_inside(claim.url):
            return "connection_error", None, b"", "the URL resolves to an internal address"
        body = encode_form(push_form(claim.fields, claim.hash_key, claim.kind))
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Kessai-Notice-Id": str(claim.payment_notice_id),
            "Kessai-Payment-Seq": str(claim.payment_seq),
        }
        with self._client.stream("POST", claim.url, content=body, headers=headers) as response:
            answer, complete = _read_capped(response, deadline)
        outcome, error = _classify(response.status_code, answer, complete)
        return outcome, response.status_code, answer, error


def reaches_inside(url: str) -> bool:
    """Re-check at send time what the URL resolves to now: DNS may have changed since the URL was
    accepted (check_notification_url). Unresolvable hosts are left to fail on connect."""
    try:
        addresses = resolve_host(urlsplit(url).hostname or "")
        return any(is_internal_address(ipaddress.ip_address(a.split("%")[0])) for a in addresses)
    except ValueError:
        return True  # an address we cannot even parse is not one to POST to


def _read_capped(response: httpx.Response, deadline: float) -> tuple[bytes, bool]:
    """At most MAX_RESPONSE_BYTES of the body, within the overall deadline (a trickling server
    would otherwise reset the per-read timeout forever). Returns (bytes, whole body read)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            return b"".join(chunks)[:MAX_RESPONSE_BYTES], False
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the answer took longer than the notify timeout")
    return b"".join(chunks), True


def _classify(status: int, body: bytes, complete: bool) -> tuple[str, str]:
    if not complete:
        return "bad_response", f"answer larger than {MAX_RESPONSE_BYTES} bytes"
    if 200 <= status < 300 and body.strip() == ACK:
        return "acknowledged", ""
    return "refused", "the answer was not result=0"


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[: delivery.ERROR_CHARS]


class Deliverer:
    """One worker's delivery machinery: lease owner, policy, HTTP client and thread pool."""

    def __init__(self, core: Core, settings: Settings, *, owner: str | None = None) -> None:
        self.core = core
        self.policy = policy_from(settings)
        self.owner = owner or worker_id()
        self._timeout = settings.notify_timeout
        self._sender = NoticeSender(core, settings.notify_timeout)
        self._slots = settings.notify_concurrency
        self._in_flight = settings.notify_in_flight
        self._pool = ThreadPoolExecutor(self._slots, "kessai-notify")
        # Every batch's lanes at once: a merchant never waits for another's lanes to free.
        self._lanes = ThreadPoolExecutor(self._slots * self._in_flight, "kessai-notify-lane")
        self._rng = random.Random()
        self._busy: set[int] = set()
        self._lock = threading.Lock()
        self._freed = threading.Event()  # a merchant's batch finished: it may be served again

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._lanes.shutdown(wait=True)
        self._sender.close()

    def wait_freed(self, timeout: float) -> None:
        """Wait until a merchant's batch finishes (its next notices may be due) or `timeout`."""
        self._freed.wait(timeout)
        self._freed.clear()

    def wake(self) -> None:
        """End a `wait_freed` now (the loop is stopping)."""
        self._freed.set()

    def housekeeping(self) -> int:
        """Notices that will never be pushed: no URL (skipped), or stuck behind a failed one."""
        delivery.skip_unaddressed(self.core)
        return delivery.fail_blocked(self.core, self.policy)

    def dispatch(self) -> list[Future[Counter[str]]]:
        """Claim due notices of merchants not already being served and start their batches."""
        with self._lock:
            busy = set(self._busy)
        claims = delivery.claim_due(
            self.core, self.owner, self.policy, exclude=busy, merchants=self._slots - len(busy)
        )
        # The lease runs from the claim, so the batch's deadline does too.
        deadline = time.monotonic() + self.policy.lease.total_seconds()
        futures = []
        for merchant_id, batch in _by_merchant(claims).items():
            with self._lock:
                self._busy.add(merchant_id)
            futures.append(self._pool.submit(self._deliver_batch, merchant_id, batch, deadline))
        return futures

    def deliver_once(self) -> dict[str, int]:
        """One synchronous pass: housekeeping, claim, send everything claimed, wait for it."""
        failed = self.housekeeping()
        totals: Counter[str] = Counter()
        for future in self.dispatch():
            totals += future.result()
        return {"delivered": totals["delivered"], "failed": totals["failed"] + failed}

    def _deliver_batch(self, merchant_id: int, batch: list[Claim], deadline: float) -> Counter[str]:
        try:
            return self._send_batch(batch, deadline)
        finally:
            with self._lock:
                self._busy.discard(merchant_id)
            self._freed.set()

    def _send_batch(self, batch: list[Claim], deadline: float) -> Counter[str]:
        """Send one merchant's batch, up to `notify_in_flight` at once, taken in notice order."""
        queue = _Queue(batch)
        store = _Store(self._record)
        lanes = [
            self._lanes.submit(self._lane, queue, store, deadline)
            for _ in range(min(self._in_flight, len(batch)))
        ]
        try:
            for lane in lanes:
                lane.result()
        finally:
            store.flush(wait=True)  # whatever a lane left waiting while another was storing
        return store.counts

    def _lane(self, queue: _Queue, store: _Store, deadline: float) -> None:
        """Send the batch's next claim until none is left, giving back the rest (unsent) when the
        lease could run out before the next answer."""
        first = True
        while (claim := queue.take()) is not None:
            if not first and time.monotonic() + self._timeout > deadline:
                delivery.release(self.core, [claim, *queue.take_all()])
                break
            first = False
            store.add(claim, self._sender.send(claim))

    def _record(self, attempts: list[tuple[Claim, AttemptResult]]) -> list[delivery.Verdict]:
        return delivery.record_attempts(self.core, attempts, self.policy, self._rng)


class _Queue:
    """A batch's claims handed out one at a time to its lanes, in notice order."""

    def __init__(self, claims: list[Claim]) -> None:
        self._claims = list(reversed(claims))
        self._lock = threading.Lock()

    def take(self) -> Claim | None:
        with self._lock:
            return self._claims.pop() if self._claims else None

    def take_all(self) -> list[Claim]:
        with self._lock:
            rest, self._claims = list(reversed(self._claims)), []
            return rest


class _Store:
    """A batch's attempts on their way to the database, stored as a group (group commit): the lane
    that finds no store running stores every attempt waiting, in one transaction, while the other
    lanes go on sending; what is left waiting when the lanes end is stored by `flush(wait=True)`.

    An attempt is stored before its payment's next notice can be claimed (at most one notice per
    payment is in a batch), so per-payment order holds; an attempt lost to a crash before it is
    stored is sent again once its lease runs out (at-least-once)."""

    def __init__(
        self, record: Callable[[list[tuple[Claim, AttemptResult]]], list[delivery.Verdict]]
    ) -> None:
        self._record = record
        self._waiting: list[tuple[Claim, AttemptResult]] = []
        self._lock = threading.Lock()
        self._storing = threading.Lock()
        self.counts: Counter[str] = Counter()

    def add(self, claim: Claim, result: AttemptResult) -> None:
        with self._lock:
            self._waiting.append((claim, result))
        self.flush(wait=False)

    def flush(self, *, wait: bool) -> None:
        """Store everything waiting, unless (`wait` False) another lane is storing already."""
        if not self._storing.acquire(blocking=wait):
            return
        try:
            while True:
                with self._lock:
                    taken, self._waiting = self._waiting, []
                if not taken:
                    return
                self.counts.update(self._record(taken))
        finally:
            self._storing.release()


def _by_merchant(claims: Iterable[Claim]) -> dict[int, list[Claim]]:
    batches: dict[int, list[Claim]] = {}
    for claim in claims:
        batches.setdefault(claim.merchant_id, []).append(claim)
    return batches


def deliver_due(core: Core, settings: Settings, *, owner: str | None = None) -> dict[str, int]:
    """One delivery pass with its own client and pool (the CLI's `--once`, tests)."""
    with Deliverer(core, settings, owner=owner) as deliverer:
        return deliverer.deliver_once()


class DeliveryLoop:
    """Delivery as a background thread: dispatches every `idle` seconds, or straight away again
    while there is work, without waiting for slow merchants' batches to finish."""

    def __init__(self, core: Core, settings: Settings, *, idle: float = 1.0) -> None:
        self._deliverer = Deliverer(core, settings)
        self._idle = idle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kessai-notify", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._deliverer.wake()
        self._thread.join(timeout=30)
        self._deliverer.close()

    def _loop(self) -> None:
        last_housekeeping = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_housekeeping > 30:
                    self._deliverer.housekeeping()
                    last_housekeeping = time.monotonic()
                started = self._deliverer.dispatch()
            except Exception:
                log.exception("notice delivery pass failed; retrying")
                started = []
            # Straight back when a batch finishes: its merchant may have more due already.
            self._deliverer.wait_freed(0.05 if started else self._idle)
