"""Write-ahead operations, shared by the methods that move money at an institution (card, carrier).

An operation is written `sending` before the institution is called (transaction 1), settled after
the call (transaction 2, `settle`), and, when its answer was lost, settled later by a reconciler that
asks the institution (`lookup`). The unique open-operation index allows one unsettled operation per
payment, so a second operation on the same payment waits for the first (`waiting`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kessai.core.context import Core, MerchantRef
from kessai.core.payments import repository
from kessai.core.payments.models import Payment, PaymentOperation
from kessai.db.loop import pause
from kessai.kit.errors import InProgress, KessaiError

log = logging.getLogger("kessai.reconciler")

# How long a follow-up waits for another operation on the same payment to settle before answering
# 9005 (retry). In-process institutions answer in milliseconds; real ones within seconds.
WAIT_FOR_OPEN_OPERATION = timedelta(seconds=5)
# A `sending` row older than this belongs to a process that died mid-call.
STALE_SENDING = timedelta(seconds=60)
# An operation the institution could not answer for is asked again after 5 min, 1 h, then daily.
RECONCILE_BACKOFF = (timedelta(minutes=5), timedelta(hours=1), timedelta(days=1))

T = TypeVar("T")

# The file line being run in this context (files.process), for a file type whose line is exactly
# one operation: the operation it opens records the line, so a line cut off mid-call can later be
# settled from what it did, or run again if it did nothing.
_FILE_LINE: ContextVar[int | None] = ContextVar("kessai_file_line", default=None)


@contextmanager
def for_file_line(line_id: int) -> Iterator[None]:
    """Operations opened in this block belong to file line `line_id` (at most one may)."""
    token = _FILE_LINE.set(line_id)
    try:
        yield
    finally:
        _FILE_LINE.reset(token)


def file_line() -> int | None:
    """The file line operations opened now belong to, if any (`for_file_line`)."""
    return _FILE_LINE.get()


def open_operation(
    session: Session, payment: Payment, kind: str, amount: int, now: datetime
) -> PaymentOperation:
    """Write operation `kind` as `sending` (transaction 1). InProgress when another operation of
    the payment is still open (the open-operation index: someone else got there first)."""
    op = PaymentOperation(
        payment_id=payment.id,
        kind=str(kind),
        status="sending",
        idempotency_key=uuid.uuid4().hex,
        amount=amount,
        attempts=0,
        created_at=now,
        updated_at=now,
        file_line_id=file_line(),
    )
    session.add(op)
    try:
        session.flush()
    except IntegrityError as exc:
        raise InProgress() from exc
    return op


def waiting(attempt: Callable[[], T], settle_open: Callable[[], object]) -> T:
    """`attempt`, tried again while another operation on the payment is open (InProgress): each
    time the open one is offered to `settle_open` (a lost answer is asked for), for a few seconds
    at most, then InProgress (9005, retry) reaches the merchant."""
    deadline = time.monotonic() + WAIT_FOR_OPEN_OPERATION.total_seconds()
    while True:
        try:
            return attempt()
        except InProgress:
            settle_open()
            if time.monotonic() > deadline:
                raise
            pause(0.02)  # on the event loop, the other telegrams run meanwhile


def is_stale(op: PaymentOperation, now: datetime) -> bool:
    """A `sending` operation this old was left by a process that died mid-call."""
    return op.updated_at + STALE_SENDING <= now


def reconcile_due(attempts: int, updated_at: datetime, now: datetime) -> bool:
    """`sending` rows (0 attempts) are due once stale; unknown ones by the back-off schedule."""
    if attempts == 0:
        return True
    return updated_at + RECONCILE_BACKOFF[min(attempts, len(RECONCILE_BACKOFF)) - 1] <= now


def reconcile_sweep(
    core: Core,
    merchants: dict[int, MerchantRef],
    *,
    payment_type: str,
    reconcile: Callable[[Core, MerchantRef, int], object],
    batch: int,
) -> int:
    """The reconciler's pass over the unsettled operations of one method's payments: each one due
    by the back-off schedule is offered to `reconcile`; returns how many were asked about."""
    now = core.clock.now()
    with core.sessions() as session:
        candidates = repository.unsettled_operations(
            session, older_than=now - STALE_SENDING, limit=batch, payment_type=payment_type
        )
        due = [
            pid for pid, attempts, updated in candidates if reconcile_due(attempts, updated, now)
        ]
        owners = {pid: session.get(Payment, pid) for pid in due}
    asked = 0
    for payment_id, payment in owners.items():
        if payment is not None and payment.merchant_id in merchants:
            _reconcile_one(core, merchants[payment.merchant_id], payment_id, reconcile)
            asked += 1
    return asked


def _reconcile_one(
    core: Core,
    merchant: MerchantRef,
    payment_id: int,
    reconcile: Callable[[Core, MerchantRef, int], object],
) -> None:
    """Ask about one payment; a payment that cannot be asked about (its institution is no longer
    configured, a bug) is logged and left for the next pass, never stopping the others."""
    try:
        reconcile(core, merchant, payment_id)
    except KessaiError as error:
        log.warning(
            "reconciler: payment %s of merchant %s cannot be settled now (%s %s); "
            "asking again next pass",
            payment_id,
            merchant.id,
            error.code,
            error.message,
        )
    except Exception:
        log.exception(
            "reconciler: payment %s of merchant %s failed; asking again next pass",
            payment_id,
            merchant.id,
        )
