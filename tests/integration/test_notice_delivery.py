"""Pushing notices to merchants (§1.6, issue #4): real gateway, real receiver on 127.0.0.1, the
worker's delivery pass run in-process (and, on PostgreSQL, as a process that gets killed)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select, update

from kessai.app import Runtime
from kessai.core.merchants.commands import NewMerchant
from kessai.core.notifications import delivery
from kessai.core.notifications.delivery import AttemptResult
from kessai.core.notifications.models import Notice, NoticeAttempt
from kessai.core.notifications.signing import notice_hash
from kessai.worker.outbox import CONTENT_TYPE, DeliveryLoop, deliver_due, policy_from
from tests.conftest import TestClock, make_merchant, test_db_kind
from tests.support.receiver import Receiver
from tests.support.servers import serve_app
from tests.support.telegrams import authorised, send

AFTER_BACKOFF = timedelta(hours=2)  # past any retry delay (capped at 1 h + 20 %)
postgresql_only = pytest.mark.skipif(
    test_db_kind() != "postgresql", reason="SKIP LOCKED and worker processes: PostgreSQL"
)


@contextmanager
def receiving(runtime: Runtime, **knobs: Any) -> Iterator[tuple[Receiver, NewMerchant]]:
    """A receiver on a free port and a fresh merchant whose notification URL points at it."""
    receiver = Receiver(**knobs)
    with serve_app(receiver.app) as base_url:
        yield receiver, make_merchant(runtime, notification_url=base_url + "/notify")


def deliver(runtime: Runtime, **settings: Any) -> dict[str, int]:
    return deliver_due(runtime.core, runtime.settings.model_copy(update=settings))


def notices_of(runtime: Runtime, merchant: NewMerchant) -> list[Notice]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(Notice)
                .where(Notice.merchant_id == merchant.merchant_id)
                .order_by(Notice.payment_notice_id)
            )
        )


def attempts_of(runtime: Runtime, notice: Notice) -> list[NoticeAttempt]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(NoticeAttempt)
                .where(NoticeAttempt.notice_id == notice.id)
                .order_by(NoticeAttempt.attempt_no)
            )
        )


def test_authorisation_is_pushed_with_the_091_fields_and_a_valid_hc(server, runtime):
    with receiving(runtime) as (receiver, merchant):
        payment_id = authorised(server, merchant)
        deliver(runtime)
    [push] = receiver.received
    [notice] = notices_of(runtime, merchant)
    assert push.fields == {**notice.fields, "hc": push.fields["hc"]}
    assert next(iter(push.fields)) == "payment_notice_id" and "result" not in push.fields
    assert push.fields["payment_id"] == payment_id and push.fields["payment_status"] == "20"
    assert push.fields["hc"] == notice_hash(push.fields, merchant.notification_hash_key)
    assert push.headers["content-type"] == CONTENT_TYPE
    assert push.headers["kessai-notice-id"] == "1" and push.headers["kessai-payment-seq"] == "1"
    assert notice.delivery_status == "delivered" and notice.delivered_at is not None
    assert [a.outcome for a in attempts_of(runtime, notice)] == ["acknowledged"]


def test_failing_merchant_is_retried_after_the_backoff_until_delivered(
    server, runtime, clock: TestClock
):
    with receiving(runtime, fail_first=3) as (receiver, merchant):
        authorised(server, merchant)
        deliver(runtime)
        deliver(runtime)  # not due yet: the back-off holds it
        assert len(receiver.received) == 1
        for _ in range(3):
            clock.advance(AFTER_BACKOFF)
            deliver(runtime)
    [notice] = notices_of(runtime, merchant)
    assert notice.delivery_status == "delivered" and notice.attempts == 4
    attempts = attempts_of(runtime, notice)
    assert [a.outcome for a in attempts] == ["refused"] * 3 + ["acknowledged"]
    assert [a.attempt_no for a in attempts] == [1, 2, 3, 4]
    assert attempts[0].response_excerpt == "result=1" and attempts[0].http_status == 200


def test_hanging_merchant_is_a_timeout_attempt_and_retried_later(server, runtime):
    with receiving(runtime, mode="hang", hang_seconds=3) as (_receiver, merchant):
        authorised(server, merchant)
        started = time.monotonic()
        deliver(runtime, notify_timeout=0.5)
        assert time.monotonic() - started < 2.5
    [notice] = notices_of(runtime, merchant)
    assert notice.delivery_status == "pending" and notice.next_attempt_at is not None
    assert notice.last_error.startswith("timeout")
    assert [a.outcome for a in attempts_of(runtime, notice)] == ["timeout"]


@pytest.mark.parametrize(
    ("mode", "outcome"),
    [("garbage", "refused"), ("huge", "bad_response"), ("error500", "refused")],
)
def test_an_answer_other_than_result_0_is_not_an_acknowledgement(server, runtime, mode, outcome):
    with receiving(runtime, mode=mode) as (receiver, merchant):
        authorised(server, merchant)
        assert deliver(runtime)["delivered"] == 0
        assert len(receiver.received) == 1
    [notice] = notices_of(runtime, merchant)
    [attempt] = attempts_of(runtime, notice)
    assert notice.delivery_status == "pending" and attempt.outcome == outcome
    assert "\x00" not in attempt.response_excerpt and len(attempt.response_excerpt) <= 2048


def test_a_later_notice_of_a_payment_waits_until_the_earlier_one_is_delivered(
    server, runtime, clock: TestClock
):
    with receiving(runtime, fail_first=1) as (receiver, merchant):
        payment_id = authorised(server, merchant)
        assert send(server, merchant, "022", payment_id=payment_id).result == "0"
        assert send(server, merchant, "023", payment_id=payment_id).result == "0"
        deliver(runtime)  # the authorisation's notice fails
        deliver(runtime)  # the capture's must not overtake it
        assert [r.headers["kessai-payment-seq"] for r in receiver.received] == ["1"]
        clock.advance(AFTER_BACKOFF)
        for _ in range(4):
            deliver(runtime)
    assert [r.headers["kessai-payment-seq"] for r in receiver.received] == ["1", "1", "2", "3"]
    assert receiver.answered_ok == [1, 2, 3]
    assert {n.delivery_status for n in notices_of(runtime, merchant)} == {"delivered"}


def test_a_slow_merchant_does_not_hold_up_another(server, runtime):
    with (
        receiving(runtime, delay=2.0) as (slow, slow_merchant),
        receiving(runtime) as (fast, fast_merchant),
    ):
        authorised(server, slow_merchant)
        authorised(server, fast_merchant)
        finished = threading.Event()
        worker = threading.Thread(target=lambda: (deliver(runtime), finished.set()))
        worker.start()
        deadline = time.monotonic() + 1.5
        while not fast.answered_ok and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fast.answered_ok == [1] and not finished.is_set()
        worker.join(10)
    assert slow.answered_ok == [1]


def test_several_payments_in_flight_and_each_payments_notices_still_in_order(server, runtime):
    with receiving(runtime, delay=0.2) as (receiver, merchant):
        payments = [authorised(server, merchant, trading_id=f"F{n}") for n in range(6)]
        for payment_id in payments:
            assert send(server, merchant, "022", payment_id=payment_id).result == "0"
            assert send(server, merchant, "023", payment_id=payment_id).result == "0"
        for _ in range(4):  # each pass takes every payment's next notice, at most
            deliver(runtime, notify_in_flight=4)
    seqs: dict[str, list[str]] = {}
    for push in receiver.received:
        seqs.setdefault(push.fields["payment_id"], []).append(push.headers["kessai-payment-seq"])
    assert seqs == {payment_id: ["1", "2", "3"] for payment_id in payments}
    assert 1 < receiver.max_in_flight <= 4  # several at once, never more than the bound
    assert {n.delivery_status for n in notices_of(runtime, merchant)} == {"delivered"}


def test_a_slow_merchant_holds_no_more_than_its_bound_and_never_delays_another(server, runtime):
    settings = runtime.settings.model_copy(update={"notify_in_flight": 3})
    with (
        receiving(runtime, delay=2.5) as (slow, slow_merchant),
        receiving(runtime) as (fast, fast_merchant),
    ):
        for n in range(5):
            authorised(server, slow_merchant, trading_id=f"S{n}")
        loop = DeliveryLoop(runtime.core, settings)
        loop.start()
        try:
            _wait_for(lambda: slow.max_in_flight == 3, timeout=10)
            fast_payments = [
                authorised(server, fast_merchant, trading_id=f"Q{n}") for n in range(5)
            ]
            _wait_for(lambda: len(fast.answered_ok) == 5, timeout=10)
            slow_done_meanwhile = len(slow.answered_ok)
        finally:
            loop.stop()
    # The fast merchant's notices went while the slow one's first sends were still unanswered.
    assert slow_done_meanwhile == 0 and slow.max_in_flight == 3
    assert sorted(fast.answered_ok) == [1, 2, 3, 4, 5] and len(fast_payments) == 5


def test_notices_of_a_merchant_without_url_are_skipped(server, runtime, merchant):
    authorised(server, merchant)
    deliver(runtime)
    [notice] = notices_of(runtime, merchant)
    assert notice.delivery_status == "skipped" and notice.attempts == 0


def test_past_the_retry_horizon_a_notice_fails_with_a_warning(
    server, runtime, clock: TestClock, caplog
):
    with receiving(runtime, mode="refuse") as (_receiver, merchant):
        authorised(server, merchant)
        deliver(runtime, notify_retry_hours=1)
        clock.advance(AFTER_BACKOFF)
        with caplog.at_level(logging.WARNING, logger="kessai.notifications"):
            assert deliver(runtime, notify_retry_hours=1)["failed"] >= 1
    [notice] = notices_of(runtime, merchant)
    assert notice.delivery_status == "failed" and notice.failed_at is not None
    assert notice.last_error.startswith("refused")
    assert f"merchant {merchant.merchant_id} payment_notice_id 1" in caplog.text


def test_the_default_retry_horizon_is_three_days(runtime):
    assert runtime.settings.notify_retry_hours >= 72


@postgresql_only
def test_parallel_workers_never_deliver_a_notice_twice(server, runtime):
    with receiving(runtime, delay=0.05) as (receiver, merchant):
        for n in range(12):
            authorised(server, merchant, trading_id=f"P{n}")

        def drain() -> None:
            for _ in range(10):
                deliver(runtime)

        workers = [threading.Thread(target=drain) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
    ids = [r.notice_id for r in receiver.received]
    assert sorted(ids) == list(range(1, 13))
    assert {n.delivery_status for n in notices_of(runtime, merchant)} == {"delivered"}


@postgresql_only
def test_a_killed_worker_loses_no_notice(server, runtime, clock: TestClock):
    with receiving(runtime, delay=0.5) as (receiver, merchant):
        for n in range(8):
            authorised(server, merchant, trading_id=f"K{n}")
        worker = _start_worker_process(runtime)
        try:
            _wait_for(lambda: len(receiver.received) >= 2, timeout=30)
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        assert any(n.delivery_status == "delivering" for n in notices_of(runtime, merchant))
        clock.advance(timedelta(minutes=5))  # past the dead worker's lease
        for _ in range(8):
            deliver(runtime)
    assert sorted(set(receiver.answered_ok)) == list(range(1, 9))
    assert {n.delivery_status for n in notices_of(runtime, merchant)} == {"delivered"}


def _start_worker_process(runtime: Runtime) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KESSAI_HOME": str(runtime.settings.home),
        "KESSAI_DATABASE_URL": str(runtime.settings.database_url),
        "KESSAI_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "kessai", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_attempts_stored_together_keep_each_notices_own_outcome(server, runtime, clock):
    merchant = make_merchant(runtime, notification_url="http://127.0.0.1:9/notify")
    for n in range(3):
        authorised(server, merchant, trading_id=f"G{n}")
    policy = policy_from(runtime.settings)
    claims = delivery.claim_due(runtime.core, "w1", policy)
    stolen = delivery.claim_due(runtime.core, "w2", policy)
    assert len(claims) == 3 and not stolen
    with runtime.core.sessions.begin() as session:  # the third's lease went to another worker
        session.execute(update(Notice).where(Notice.id == claims[2].id).values(lease_owner="w2"))
    now = clock.now()
    acked = AttemptResult(outcome="acknowledged", started_at=now, duration_ms=3, http_status=200)
    refused = AttemptResult(outcome="refused", started_at=now, duration_ms=4, http_status=500)
    verdicts = delivery.record_attempts(
        runtime.core, [(claims[0], acked), (claims[1], refused), (claims[2], acked)], policy
    )
    assert verdicts == ["delivered", "retrying", "lost"]
    first, second, third = notices_of(runtime, merchant)
    assert first.delivery_status == "delivered" and first.attempts == 1 and not first.lease_owner
    assert second.delivery_status == "pending" and second.attempts == 1
    assert second.next_attempt_at is not None and second.next_attempt_at > now
    assert third.delivery_status == "delivering" and third.lease_owner == "w2"
    assert [(a.attempt_no, a.outcome) for a in attempts_of(runtime, first)] == [(1, "acknowledged")]
    assert [(a.attempt_no, a.http_status) for a in attempts_of(runtime, second)] == [(1, 500)]
    assert [a.outcome for a in attempts_of(runtime, third)] == ["acknowledged"]


def test_many_payments_through_the_loop_arrive_once_each_and_in_order(server, runtime):
    settings = runtime.settings.model_copy(update={"notify_in_flight": 4})
    with receiving(runtime) as (receiver, merchant):
        payments = [authorised(server, merchant, trading_id=f"M{n}") for n in range(12)]
        for payment_id in payments:
            assert send(server, merchant, "022", payment_id=payment_id).result == "0"
            assert send(server, merchant, "023", payment_id=payment_id).result == "0"
        loop = DeliveryLoop(runtime.core, settings)
        loop.start()
        try:
            _wait_for(lambda: len(receiver.answered_ok) >= 36, timeout=30)
        finally:
            loop.stop()
    seqs: dict[str, list[str]] = {}
    for push in receiver.received:
        seqs.setdefault(push.fields["payment_id"], []).append(push.headers["kessai-payment-seq"])
    assert seqs == {payment_id: ["1", "2", "3"] for payment_id in payments}
    assert sorted(receiver.answered_ok) == list(range(1, 37))
    notices = notices_of(runtime, merchant)
    assert {n.delivery_status for n in notices} == {"delivered"}
    assert all(len(attempts_of(runtime, n)) == 1 for n in notices)


def test_a_fast_merchants_batch_claims_its_next_notices_while_it_runs(server, runtime):
    with receiving(runtime) as (receiver, merchant):
        for n in range(20):
            authorised(server, merchant, trading_id=f"R{n}")
        # 2 in flight: a claim takes 8 notices (4 per lane fit the lease), yet one pass sends all
        assert deliver(runtime, notify_in_flight=2)["delivered"] == 20
    assert sorted(receiver.answered_ok) == list(range(1, 21))
    assert receiver.max_in_flight <= 2
    assert {n.delivery_status for n in notices_of(runtime, merchant)} == {"delivered"}


def test_pushes_to_a_merchant_reuse_kept_alive_connections(server, runtime):
    with counting_receiver() as (url, connections):
        merchant = make_merchant(runtime, notification_url=url)
        for n in range(12):
            authorised(server, merchant, trading_id=f"C{n}")
        assert deliver(runtime, notify_in_flight=2)["delivered"] == 12
    assert 1 <= len(connections) <= 2  # one per lane, not one per notice


@contextmanager
def counting_receiver() -> Iterator[tuple[str, list[int]]]:
    """A plain HTTP/1.1 keep-alive receiver answering result=0 that counts the TCP connections
    it accepts (the Starlette receiver cannot see them)."""
    connections: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            connections.append(1)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            self.wfile.write(b"result=0")

        def log_message(self, *_args: Any) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{receiver.server_port}/notify", connections
    finally:
        receiver.shutdown()
        receiver.server_close()
