"""Pushing notices to merchants (決済情報差分通知, paygent-protocol.md §1.6) over HTTP.

The core decides what is due and records what happened (kessai.core.notifications.delivery); this
module only sends: a form in Windows-31J with `hc`, read back with a size cap, classified into one
attempt outcome. Merchants are served concurrently by a small thread pool, one batch per merchant
at a time, so a slow or dead endpoint only ever delays its own notices. Within a batch up to
`notify_in_flight` notices are pushed at once over kept-alive connections (one shared client), and
their attempts are stored a group at a time (one transaction for the answers that came in while the
previous group was being stored); a batch that runs low claims its merchant's next notices while
its lanes keep sending (for a couple of seconds, then its slot goes round again). A batch holds at
most one notice in flight per payment (core.notifications.delivery claims a payment's next notice
only once the previous one is delivered), so per-payment order holds, and a slow merchant holds at
most that many sends of its own and one merchant slot.
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
from collections import Counter, deque
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
# How long a fast merchant's batch keeps claiming its next notices before it ends and its slot goes
# round the merchants again (Deliverer._send_batch).
REFILL_SECONDS = 2.0


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
            return self._send_batch(merchant_id, batch, deadline)
        finally:
            with self._lock:
                self._busy.discard(merchant_id)
            self._freed.set()

    def _send_batch(self, merchant_id: int, batch: list[Claim], deadline: float) -> Counter[str]:
        """Send one merchant's batch, up to `notify_in_flight` at once, taken in notice order and
        topped up with the merchant's next due notices while it runs low (for REFILL_SECONDS)."""

        def refill() -> list[Claim]:
            return delivery.claim_more(self.core, self.owner, self.policy, merchant_id)

        full = self.policy.per_merchant
        queue = _Queue(
            batch,
            deadline,
            # A batch short of a full claim took everything due: nothing to top up.
            refill=refill if len(batch) >= full else None,
            full=full,
            lease=self.policy.lease.total_seconds(),
        )
        store = _Store(self._record)
        lanes = [
            self._lanes.submit(self._lane, queue, store)
            for _ in range(min(self._in_flight, len(batch)))
        ]
        try:
            for lane in lanes:
                lane.result()
        finally:
            store.flush(wait=True)  # whatever a lane left waiting while another was storing
        return store.counts

    def _lane(self, queue: _Queue, store: _Store) -> None:
        """Send the batch's next claim until none is left, giving back the rest (unsent) when the
        lease could run out before the next answer."""
        first = True
        while (taken := queue.take()) is not None:
            claim, deadline = taken
            if not first and time.monotonic() + self._timeout > deadline:
                delivery.release(self.core, [claim, *queue.take_all()])
                break
            first = False
            store.add(claim, self._sender.send(claim))

    def _record(self, attempts: list[tuple[Claim, AttemptResult]]) -> list[delivery.Verdict]:
        return delivery.record_attempts(self.core, attempts, self.policy, self._rng)


class _Queue:
    """A batch's claims handed out one at a time to its lanes, in notice order, each with the
    monotonic time its lease ends.

    Once half a full claim (`full`, the policy's per_merchant) or less is waiting, the lane that
    notices claims the merchant's next due notices (`refill`) while the others keep sending, so a
    fast merchant's lanes never stand idle between claims; a lane that finds the queue empty
    during a refill waits for it. Refills stop after REFILL_SECONDS, or once a claim comes back
    short of `full` (that was everything due), so that the batch ends and its slot goes round the
    merchants again; a slow merchant does not run low that soon."""

    def __init__(
        self,
        claims: list[Claim],
        deadline: float,
        *,
        refill: Callable[[], list[Claim]] | None = None,
        full: int = 0,
        lease: float = 0.0,
    ) -> None:
        self._items = deque((claim, deadline) for claim in claims)
        self._cond = threading.Condition()
        self._refill, self._full, self._lease = refill, full, lease
        self._refilling = False
        self._refill_until = time.monotonic() + REFILL_SECONDS

    def take(self) -> tuple[Claim, float] | None:
        with self._cond:
            while not self._items and self._refilling:
                self._cond.wait()
            if not self._items:
                return None
            taken = self._items.popleft()
            refill = self._start_refill()
        if refill is not None:
            self._top_up(refill)
        return taken

    def take_all(self) -> list[Claim]:
        with self._cond:
            rest = [claim for claim, _ in self._items]
            self._items.clear()
            self._refill = None
            return rest

    def _start_refill(self) -> Callable[[], list[Claim]] | None:
        """The refill to run now (the caller holds the lock), or None."""
        if self._refill is None or self._refilling or 2 * len(self._items) > self._full:
            return None
        if time.monotonic() > self._refill_until:
            return None
        self._refilling = True
        return self._refill

    def _top_up(self, refill: Callable[[], list[Claim]]) -> None:
        started, claims = time.monotonic(), list[Claim]()
        try:
            claims = refill()
        except Exception:  # the claims taken so far still go; the loop claims again later
            log.exception("claiming more notices for a running batch failed")
        with self._cond:
            self._items.extend((claim, started + self._lease) for claim in claims)
            self._refilling = False
            if len(claims) < self._full:
                self._refill = None  # that was everything due: let the batch end
            self._cond.notify_all()


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
