"""Applying an institution's answer to a payment (transaction 2 of every operation).

An operation is written `sending` before the connector call (transaction 1) and settled here after it,
in a transaction of its own that also writes the status-change notice (architecture-notes §1.4).
The same function settles what the reconciler learns later through `lookup`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from kessai.connectors.base import ConnectorResult, Outcome
from kessai.core.ledger.postings import record_payment_move
from kessai.core.notifications.outbox import record_change
from kessai.core.payments import repository
from kessai.core.payments.card.states import (
    TRANSITIONS,
    Call,
    CardOperation,
    CardStatus,
)
from kessai.core.payments.models import Payment, PaymentEvent, PaymentOperation
from kessai.core.payments.tables import holds_money, notifies
from kessai.core.payments.views import OperationResult, PaymentView

log = logging.getLogger("kessai.payments")

# What the merchant is told when the institution's answer is not known yet (retry / inquire later).
UNSETTLED_CODE = "2008"
# How a request that never reached the institution is recorded when it ends the payment's wait: as
# PAYGENT records a card authorisation that timed out at the card company (2008, detail 2999).
NEVER_SENT = ConnectorResult(Outcome.NOT_SENT, response_code=UNSETTLED_CODE, response_detail="2999")


def change_status(
    session: Session,
    payment: Payment,
    new_status: str,
    *,
    operation: str,
    now: datetime,
    response_code: str = "",
    response_detail: str = "",
    initial: bool = False,
    notify_at: datetime | None = None,
) -> None:
    """Move `payment` to `new_status`: history row always, notice when the merchant is told,
    and the ledger entry when the move makes or unmakes a sale (every method's status changes
    pass here, so the ledger cannot drift from the payments; one INSERT, same transaction).
    `initial`: the payment was just created in `new_status` (notified if that status is).
    `notify_at`: when the notice may go out, if not `now` (real time, when `now` is a sandbox
    merchant's test clock)."""
    old_status = payment.status
    held_before = not initial and _holds_money(payment, old_status)
    payment.status = new_status
    payment.updated_at = now
    session.add(
        PaymentEvent(
            payment_id=payment.id,
            operation=operation,
            from_status=old_status,
            to_status=new_status,
            amount=payment.amount,
            response_code=response_code,
            response_detail=response_detail[:256],
            created_at=now,
        )
    )
    if (new_status != old_status or initial) and notifies(payment.payment_type, new_status):
        record_change(session, payment, now, deliver_at=notify_at)
    held_after = _holds_money(payment, new_status)
    if held_after != held_before:
        record_payment_move(session, payment, gave_back=held_before, now=now)


def _holds_money(payment: Payment, status: str) -> bool:
    captured = payment.captured_at is not None
    return holds_money(payment.payment_type, status, captured=captured)


class SettleRules(Protocol):
    """How a method's state table answers an institution's outcome (`CARD_RULES` for cards)."""

    def succeeded(
        self,
        session: Session,
        payment: Payment,
        op: PaymentOperation,
        result: ConnectorResult,
        now: datetime,
        notify_at: datetime | None,
    ) -> str:
        """Stamp what the success changed on the payment (or made: a correction's new payment,
        whose notice goes out at `notify_at`); the status it moves to."""
        ...

    def declined(self, payment: Payment, op: PaymentOperation, result: ConnectorResult) -> str:
        """The status a refusal leaves the payment in."""
        ...

    def unsettled(self, payment: Payment, op: PaymentOperation) -> str | None:
        """The status shown while the answer is unknown (None: the payment stays as it is)."""
        ...

    def not_sent(self, payment: Payment, op: PaymentOperation) -> str | None:
        """The status a request the institution never received leaves the payment in (None: as
        it is). Nothing will ever answer it, so a status that waits for the answer must end here."""
        ...


class CardRules:
    """The card table (§3.2) as `settle` asks it."""

    def succeeded(
        self,
        session: Session,
        payment: Payment,
        op: PaymentOperation,
        result: ConnectorResult,
        now: datetime,
        notify_at: datetime | None,
    ) -> str:
        rule = TRANSITIONS[(CardStatus(payment.status), CardOperation(op.kind))]
        _stamp(payment, op.kind, result, now)
        return rule.on_success

    def declined(self, payment: Payment, op: PaymentOperation, result: ConnectorResult) -> str:
        rule = TRANSITIONS[(CardStatus(payment.status), CardOperation(op.kind))]
        # 2003 (input error): the payment stays 申込済 and may be retried by payment_id (§3.2).
        return payment.status if result.response_code == "2003" else rule.on_decline

    def unsettled(self, payment: Payment, op: PaymentOperation) -> str | None:
        return None

    def not_sent(self, payment: Payment, op: PaymentOperation) -> str | None:
        # An authorisation the acquirer never saw has failed: 10 → 11 (17 for a validity check),
        # as PAYGENT answers an authorisation timeout (2008). A follow-up leaves the payment as it
        # was (20, 40), from where the merchant sends it again.
        rule = TRANSITIONS[(CardStatus(payment.status), CardOperation(op.kind))]
        return rule.on_decline if rule.call is Call.AUTHORIZE else None


CARD_RULES = CardRules()


def settle(
    session: Session,
    *,
    payment_id: int,
    operation_id: int,
    result: ConnectorResult,
    now: datetime,
    rules: SettleRules = CARD_RULES,
    notify_at: datetime | None = None,
) -> OperationResult:
    """Apply `result` to the operation and its payment. Idempotent: a settled operation is left.
    `rules` is the payment's method. `notify_at` is real time when `now` is a sandbox merchant's
    test clock: when the notice may go out, and the operation row's own time (the reconciler
    reads operation rows on real time)."""
    payment = repository.lock_payment(session, payment_id)
    op = session.get(PaymentOperation, operation_id)  # guarded by the payment's lock
    assert op is not None, f"operation {operation_id} vanished"
    if op.status not in repository.OPEN_STATUSES:
        return _already_settled(payment, op)
    op.attempts += 1
    op.updated_at = notify_at or now
    changes = _Change(session, payment, op, result, now, rules, notify_at)
    match result.outcome:
        case Outcome.SUCCEEDED:
            return changes.succeeded()
        case Outcome.DECLINED:
            return changes.declined()
        case Outcome.NOT_SENT:
            op.status = "not_sent"
            changes.not_sent()
            return _unsettled(payment, op, "institution unreachable; nothing was sent")
        case Outcome.UNKNOWN | Outcome.PENDING:
            op.status = "unknown"
            log.warning("payment %s: %s answer unknown; will ask again", payment.id, op.kind)
            changes.show_unsettled()
            return _unsettled(payment, op, "answer not known yet; inquire with 094")


class _Change:
    """One outcome applied to one payment, through its method's rules."""

    def __init__(
        self,
        session: Session,
        payment: Payment,
        op: PaymentOperation,
        result: ConnectorResult,
        now: datetime,
        rules: SettleRules,
        notify_at: datetime | None,
    ) -> None:
        self.session, self.payment, self.op, self.result = session, payment, op, result
        self.now, self.rules, self.notify_at = now, rules, notify_at

    def succeeded(self) -> OperationResult:
        payment, op, result = self.payment, self.op, self.result
        if not _integrity_ok(op, result):
            op.status = "integrity_failure"
            log.error("payment %s: %s answer does not match what was sent", payment.id, op.kind)
            return OperationResult(False, PaymentView.of(payment), "E001", "integrity check failed")
        op.status = "succeeded"
        op.reference = result.reference or op.reference
        new_status = self.rules.succeeded(
            self.session, payment, op, result, self.now, self.notify_at
        )
        self._move(new_status)
        return OperationResult(True, PaymentView.of(payment))

    def declined(self) -> OperationResult:
        payment, op, result = self.payment, self.op, self.result
        op.status = "declined"
        op.response_code = result.response_code
        op.response_detail = result.response_detail
        self._move(self.rules.declined(payment, op, result), result)
        return OperationResult(
            False, PaymentView.of(payment), result.response_code, result.response_detail
        )

    def not_sent(self) -> None:
        """Nothing reached the institution and nothing will: the payment moves as its method says
        (with the notice), rather than wait for an answer that will never come."""
        moved = self.rules.not_sent(self.payment, self.op)
        if moved is not None and moved != self.payment.status:
            self._move(moved, NEVER_SENT)

    def show_unsettled(self) -> None:
        shown = self.rules.unsettled(self.payment, self.op)
        if shown is not None and shown != self.payment.status:
            self._move(shown)

    def _move(self, new_status: str, result: ConnectorResult | None = None) -> None:
        change_status(
            self.session,
            self.payment,
            new_status,
            operation=self.op.kind,
            now=self.now,
            response_code=result.response_code if result else "",
            response_detail=result.response_detail if result else "",
            notify_at=self.notify_at,
        )


def _unsettled(payment: Payment, op: PaymentOperation, why: str) -> OperationResult:
    op.response_code = UNSETTLED_CODE
    op.response_detail = why
    return OperationResult(False, PaymentView.of(payment), UNSETTLED_CODE, "2999")


def _already_settled(payment: Payment, op: PaymentOperation) -> OperationResult:
    ok = op.status == "succeeded"
    return OperationResult(ok, PaymentView.of(payment), op.response_code, op.response_detail)


def _integrity_ok(op: PaymentOperation, result: ConnectorResult) -> bool:
    """The institution must echo the amount we sent (architecture-notes §1.7)."""
    return result.amount is None or result.amount == op.amount


def stamp_authorization(payment: Payment, result: ConnectorResult, now: datetime) -> None:
    """What an authorisation's answer writes on the payment: the acquirer's reference, the time,
    and the issuer it names (both the ORM path and the lean one, `card/lean.py`)."""
    payment.institution_ref = result.reference
    payment.authorized_at = now
    if result.issuer is not None:
        payment.institution_code = result.issuer.acq_id
        payment.institution_name = result.issuer.acq_name
        payment.details = {
            **(payment.details or {}),
            "issur_class": result.issuer.issur_class,
            "issur_id": result.issuer.issur_id,
            "issur_name": result.issuer.issur_name,
            "authrized_number": result.approval_number,
        }


def _stamp(payment: Payment, kind: str, result: ConnectorResult, now: datetime) -> None:
    operation = CardOperation(kind)
    if operation in (
        CardOperation.AUTHORIZE,
        CardOperation.AUTHORIZE_CAPTURE,
        CardOperation.VALIDITY_CHECK,
    ):
        stamp_authorization(payment, result, now)
    if operation in (CardOperation.AUTHORIZE_CAPTURE, CardOperation.CAPTURE):
        payment.captured_at = now
    if operation in (CardOperation.VOID, CardOperation.REFUND):
        payment.cancelled_at = now
