"""Card payment commands: the only writers of payments (paygent-protocol.md §3.2).

Every operation follows the same order (architecture-notes §1.4): transaction 1 locks the payment,
checks the state table and writes the operation as `sending`; the connector is called outside any
transaction; transaction 2 (`settle`) applies the outcome and writes the notice. A crash in between
leaves an open operation that `reconcile` settles by asking the institution; no lock is ever held
across the network, and the unique open-operation index makes a second concurrent operation on the
same payment impossible — so two racing captures make one capture.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kessai.connectors.base import CardAcquirer, CardData, ConnectorResult
from kessai.core.cards.models import VaultCard
from kessai.core.context import Core, MerchantRef
from kessai.core.payments import later, operations, repository
from kessai.core.payments.banknet import commands as banknet
from kessai.core.payments.card import lean
from kessai.core.payments.card.requests import AuthorizeRequest as AuthorizeRequest
from kessai.core.payments.card.states import (
    AUTH_LIFETIME,
    CANCEL_WINDOW,
    TRANSITIONS,
    Call,
    CardOperation,
    CardStatus,
    Verdict,
    judge,
)
from kessai.core.payments.carrier import commands as carrier
from kessai.core.payments.models import Payment, PaymentOperation
from kessai.core.payments.refs import PaymentRef
from kessai.core.payments.settle import change_status, settle
from kessai.core.payments.views import OperationResult, PaymentView
from kessai.core.threeds import usage as threeds
from kessai.core.threeds.models import ThreeDSAuthentication
from kessai.kit.errors import InProgress, InvalidRequest, InvalidState, KessaiError

CARD = "02"
MAX_INPUT_ERROR_RETRIES = 3


# ---------------------------------------------------------------- authorise (020)


def authorize(core: Core, merchant: MerchantRef, req: AuthorizeRequest) -> OperationResult:
    """Authorise (オーソリ) a card payment; with `capture`, authorise and capture (sales_mode=1)."""
    operation = req.operation or (
        CardOperation.AUTHORIZE_CAPTURE if req.capture else CardOperation.AUTHORIZE
    )
    acquirer = core.acquirer_for(merchant)  # P007 before anything is written when none serves it
    if lean.takes_lean_path(core, req, operation):  # the common case, one statement a transaction
        return lean.authorize(core, merchant, req, acquirer, _settle)
    with core.sessions.begin() as session:
        now = core.clock.now()
        authentication = _threeds_for(session, merchant, req, now)
        if authentication is not None and req.card is None and req.vault_card_id is None:
            req = replace(
                req,
                vault_card_id=authentication.vault_card_id,
                valid_term=threeds.valid_term(authentication),
            )
        vault_row = _vault_row_for(core, session, req)
        if authentication is not None:
            threeds.check_card(authentication, vault_row.fingerprint)
        payment = _payment_for_authorize(session, merchant, req, vault_row, now, authentication)
        if payment.status == CardStatus.AUTH_NG:  # input-error retries exhausted (§3.2)
            return OperationResult(False, PaymentView.of(payment), "2001", "")
        if authentication is not None:
            threeds.mark_used(authentication, payment.id, now)
        op = _open_operation(session, payment, operation, payment.amount, now)
        card = req.card or CardData(core.vault.open(vault_row), req.valid_term)
        ids = (payment.id, op.id, op.idempotency_key)
    result = acquirer.authorize(
        idempotency_key=ids[2],
        card=card,
        amount=req.amount,
        capture=operation is CardOperation.AUTHORIZE_CAPTURE,
    )
    return _settle(core, ids[0], ids[1], result)


def _threeds_for(
    session: Session, merchant: MerchantRef, req: AuthorizeRequest, now: datetime
) -> ThreeDSAuthentication | None:
    """The 3-D Secure authentication the 020 names, checked and locked (31008–31011)."""
    if not req.threeds_auth_id:
        return None
    return threeds.claim(
        session,
        merchant,
        req.threeds_auth_id,
        amount=req.amount,
        site_id=req.site_id,
        now=now,
        retry_payment_id=req.retry_payment_id,
    )


def _vault_row_for(core: Core, session: Session, req: AuthorizeRequest) -> VaultCard:
    if req.card is not None:
        return core.vault.store(session, req.card.number)
    row = session.get(VaultCard, req.vault_card_id) if req.vault_card_id else None
    if row is None:
        raise InvalidRequest("P005", field="card_number")
    return row


def _payment_for_authorize(
    session: Session,
    merchant: MerchantRef,
    req: AuthorizeRequest,
    vault_row: VaultCard,
    now: datetime,
    authentication: ThreeDSAuthentication | None = None,
) -> Payment:
    details = lean.card_details(req, vault_row.masked, vault_row.brand, vault_row.fingerprint)
    if authentication is not None:
        details |= threeds.payment_details(authentication)
    if req.retry_payment_id is not None:
        return _retry_payment(session, merchant, req, vault_row, details, now)
    if req.trading_id and repository.trading_id_in_flight(
        session, merchant_id=merchant.id, trading_id=req.trading_id
    ):
        # The same order is being authorised right now (a client retrying after a timeout):
        # answer "retry later" rather than risk a second charge; 094 will tell the outcome.
        raise InProgress()
    payment = Payment(
        merchant_id=merchant.id,
        trading_id=req.trading_id,
        site_id=req.site_id,
        payment_type="02",
        amount=req.amount,
        status=CardStatus.APPLIED.value,
        vault_card_id=vault_row.id,
        related_payment_id=req.related_payment_id,
        details=details,
        created_at=now,
        updated_at=now,
    )
    session.add(payment)
    session.flush()
    return payment


def _retry_payment(
    session: Session,
    merchant: MerchantRef,
    req: AuthorizeRequest,
    vault_row: VaultCard,
    details: dict[str, object],
    now: datetime,
) -> Payment:
    """A 020 naming a payment left in 申込済 by an input error (2003) retries that payment."""
    assert req.retry_payment_id is not None
    payment = repository.lock_payment(session, req.retry_payment_id)
    if payment.merchant_id != merchant.id:
        raise InvalidState("2006")
    if payment.status != CardStatus.APPLIED or payment.payment_type != "02":
        raise InvalidState("2004")
    retries = int((payment.details or {}).get("input_error_retries", 0)) + 1
    if retries > MAX_INPUT_ERROR_RETRIES:
        change_status(
            session,
            payment,
            CardStatus.AUTH_NG.value,
            operation="authorize",
            now=now,
            response_code="2001",
        )
        return payment  # committed as オーソリNG; `authorize` answers 2001
    payment.details = {**details, "input_error_retries": retries}
    payment.vault_card_id = vault_row.id
    payment.amount = req.amount
    return payment


# ---------------------------------------------------------------- follow-ups (021/022/023)


def capture(core: Core, merchant: MerchantRef, ref: PaymentRef) -> OperationResult:
    """Capture (売上) an authorised card payment (022)."""
    return follow_up(core, merchant, ref, CardOperation.CAPTURE)


def void(core: Core, merchant: MerchantRef, ref: PaymentRef) -> OperationResult:
    """Void (オーソリ取消) an authorisation (021)."""
    return follow_up(core, merchant, ref, CardOperation.VOID)


def refund(core: Core, merchant: MerchantRef, ref: PaymentRef) -> OperationResult:
    """Cancel (売上取消) a capture, wholly (023)."""
    return follow_up(core, merchant, ref, CardOperation.REFUND)


# A cancel (取消) undoes what the payment has reached: a capture is cancelled (023), anything else
# is voided (021); the state table answers the statuses where neither is allowed (2004, 2007).
_CANCELLED_BY_REFUND = frozenset(
    {CardStatus.CAPTURE_REQUESTED, CardStatus.CAPTURED, CardStatus.CAPTURED_CLOSED}
)


def cancel(core: Core, merchant: MerchantRef, ref: PaymentRef) -> OperationResult:
    """Cancel (取消) a card payment: void its authorisation or cancel its capture (file type 022)."""
    payment_id = _resolve(core, merchant, ref)
    with core.sessions() as session:
        status = session.get_one(Payment, payment_id).status
    captured = status in _CANCELLED_BY_REFUND
    return operate(
        core, merchant, payment_id, CardOperation.REFUND if captured else CardOperation.VOID
    )


def follow_up(
    core: Core, merchant: MerchantRef, ref: PaymentRef, operation: CardOperation
) -> OperationResult:
    if operation is CardOperation.CAPTURE and lean.takes_lean_capture(core, ref):
        answer = lean.capture(core, merchant, ref, _settle)  # one statement a transaction
        if answer is not None:
            return answer
    payment_id = _resolve(core, merchant, ref)
    return operate(core, merchant, payment_id, operation)


def operate(
    core: Core, merchant: MerchantRef, payment_id: int, operation: CardOperation
) -> OperationResult:
    """Run `operation` on the payment, waiting briefly for another operation on it to settle."""
    return operations.waiting(
        lambda: _operate_once(core, merchant, payment_id, operation),
        lambda: reconcile(core, merchant, payment_id),
    )


def _operate_once(
    core: Core, merchant: MerchantRef, payment_id: int, operation: CardOperation
) -> OperationResult:
    acquirer = core.acquirer_for(merchant)  # P007 before the operation is written `sending`
    verdict, sent = _begin(core, merchant, payment_id, operation)
    if sent is None:
        return _answer_without_call(core, payment_id, verdict)
    payment_ref, op_id, key, amount, call = sent
    result = _call(acquirer, call, key=key, reference=payment_ref, amount=amount)
    return _settle(core, payment_id, op_id, result)


def _begin(
    core: Core, merchant: MerchantRef, payment_id: int, operation: CardOperation
) -> tuple[Verdict, tuple[str, int, str, int, Call] | None]:
    """Transaction 1: judge the operation and, if it calls the institution, write it `sending`."""
    with core.sessions.begin() as session:
        now = core.clock.now()
        payment = repository.lock_payment(session, payment_id)
        if payment.payment_type != CARD:
            raise InvalidState("2004")  # a card telegram on another method's payment
        apply_due_expiry(session, payment, later.now(core, merchant))
        if repository.open_operation(session, payment.id) is not None:
            raise InProgress()
        verdict = judge(CardStatus(payment.status), operation)
        if verdict is not Verdict.APPLY:
            return verdict, None
        rule = TRANSITIONS[(CardStatus(payment.status), operation)]
        op = _open_operation(session, payment, operation, payment.amount, now)
        return verdict, (
            payment.institution_ref or "",
            op.id,
            op.idempotency_key,
            op.amount,
            rule.call,
        )


def _answer_without_call(core: Core, payment_id: int, verdict: Verdict) -> OperationResult:
    """REPEAT answers success with nothing changed; EXPIRED is 2007; anything else 2004."""
    if verdict is Verdict.REPEAT:
        return OperationResult(True, inquire_by_id(core, payment_id))
    if verdict is Verdict.EXPIRED:
        raise InvalidState("2007")
    raise InvalidState("2004")


def _call(
    acquirer: CardAcquirer, call: Call, *, key: str, reference: str, amount: int
) -> ConnectorResult:
    match call:
        case Call.CAPTURE:
            return acquirer.capture(idempotency_key=key, reference=reference, amount=amount)
        case Call.VOID:
            return acquirer.void(idempotency_key=key, reference=reference, amount=amount)
        case Call.REFUND:
            return acquirer.refund(idempotency_key=key, reference=reference, amount=amount)
        case Call.AUTHORIZE | Call.NONE:
            raise AssertionError(f"{call} is not a follow-up call")


def _open_operation(
    session: Session, payment: Payment, operation: CardOperation, amount: int, now: datetime
) -> PaymentOperation:
    return operations.open_operation(session, payment, operation.value, amount, now)


def _settle(core: Core, payment_id: int, op_id: int, result: ConnectorResult) -> OperationResult:
    with core.sessions.begin() as session:
        return settle(
            session,
            payment_id=payment_id,
            operation_id=op_id,
            result=result,
            now=core.clock.now(),
        )


def _resolve(core: Core, merchant: MerchantRef, ref: PaymentRef) -> int:
    # Read-only, yet committed: a ROLLBACK makes psycopg deallocate the prepared statements.
    with core.sessions.begin() as session:
        return repository.find_payment_id(
            session,
            merchant_id=merchant.id,
            payment_id=ref.payment_id,
            trading_id=ref.trading_id,
        )


# ---------------------------------------------------------------- time and reconciliation


def apply_due_expiry(session: Session, payment: Payment, at: later.Now) -> None:
    """20 → 33 sixty days after authorisation; 40 → 41 sixty days after capture (§3.2), on the
    merchant's time (a sandbox test clock moves them too)."""
    if payment.payment_type != CARD:
        return
    now = at.merchant
    if payment.status == CardStatus.AUTHORIZED and payment.authorized_at is not None:
        if payment.authorized_at + AUTH_LIFETIME <= now:
            later.set_status(
                session,
                payment,
                CardStatus.AUTH_EXPIRED,
                operation=CardOperation.EXPIRE_AUTH,
                at=at,
            )
    elif payment.status == CardStatus.CAPTURED and payment.captured_at is not None:  # noqa: SIM102
        if payment.captured_at + CANCEL_WINDOW <= now:
            later.set_status(
                session,
                payment,
                CardStatus.CAPTURED_CLOSED,
                operation=CardOperation.CLOSE_CANCEL_WINDOW,
                at=at,
            )


def expire_due(core: Core, *, batch: int = 500, merchant_id: int | None = None) -> int:
    """Apply every due expiry (the scheduler runs this; one merchant's with `merchant_id`), each
    payment on its merchant's time under its row lock; returns how many payments moved."""
    candidates: dict[int, later.Now] = {}
    for status, window in (("20", AUTH_LIFETIME), ("40", CANCEL_WINDOW)):

        def find(
            session: Session,
            now: datetime,
            merchant_id: int | None,
            exclude: set[int],
            status: str = status,
            window: timedelta = window,
        ) -> list[int]:
            return repository.due_for_expiry(
                session,
                status=status,
                column_before=now - window,
                limit=batch,
                payment_type=CARD,
                merchant_id=merchant_id,
                exclude=exclude,
            )

        candidates.update(later.due_candidates(core, find, merchant_id=merchant_id))
    return later.apply_each(core, candidates, _expired)


def _expired(session: Session, payment: Payment, at: later.Now) -> bool:
    before = payment.status
    apply_due_expiry(session, payment, at)
    return payment.status != before


def reconcile(core: Core, merchant: MerchantRef, payment_id: int) -> OperationResult | None:
    """Settle a card operation whose answer was lost, by asking the acquirer (`lookup`).
    A `sending` operation that is still fresh belongs to a live request and is left alone."""
    with core.sessions() as session:
        op = repository.open_operation(session, payment_id)
        if op is None or repository.payment_type_of(session, payment_id) != CARD:
            return None
        if op.status == "sending" and not operations.is_stale(op, core.clock.now()):
            return None
        op_id, key = op.id, op.idempotency_key
    result = core.acquirer_for(merchant).lookup(idempotency_key=key)
    return _settle(core, payment_id, op_id, result)


def reconcile_all(core: Core, merchants: dict[int, MerchantRef], *, batch: int = 100) -> int:
    """The reconciler's sweep over unsettled card operations; returns how many it asked about.
    An operation the acquirer could not answer for is asked again on a back-off schedule
    (5 min, 1 h, then daily); a merchant's 094 inquiry asks at once whatever the schedule."""
    return operations.reconcile_sweep(
        core, merchants, payment_type=CARD, reconcile=reconcile, batch=batch
    )


# ---------------------------------------------------------------- inquiry (094)


def inquire(
    core: Core, merchant: MerchantRef, ref: PaymentRef, payment_type: str = ""
) -> PaymentView:
    """The payment as it stands (094). An unsettled operation is settled first by asking the
    institution, so a merchant retrying after a timeout sees the truth."""
    with core.sessions() as session:
        payment_id = banknet.payment_for_inquiry(
            session, merchant.id, ref.payment_id, ref.trading_id, payment_type
        ) or repository.find_for_inquiry(
            session,
            merchant_id=merchant.id,
            payment_id=ref.payment_id,
            trading_id=ref.trading_id,
            payment_type=payment_type,
        )
        found_type = repository.payment_type_of(session, payment_id)
    if found_type == carrier.PAYMENT_TYPE:  # carrier payments have their own time and institution
        return carrier.refresh(core, merchant, payment_id)
    with contextlib.suppress(KessaiError):  # the inquiry still answers what we know
        reconcile(core, merchant, payment_id)
    with core.sessions.begin() as session:
        payment = repository.lock_payment(session, payment_id)
        if payment.due_at is not None:  # a method paid later
            later.expire_if_due(session, payment, later.now(core, merchant))
        elif repository.open_operation(session, payment_id) is None:
            apply_due_expiry(session, payment, later.now(core, merchant))
        return PaymentView.of(payment)


def inquire_by_id(core: Core, payment_id: int) -> PaymentView:
    with core.sessions.begin() as session:  # committed, not rolled back (see `_resolve`)
        payment = session.get(Payment, payment_id)
        assert payment is not None
        return PaymentView.of(payment)
