"""Carrier billing (携帯キャリア決済, payment_type 06; telegrams 100–103): apply, the buyer's answer on
the carrier's page, capture, cancel, reduced capture, and the moves time makes — the carriers'
completion reports, authorisation expiry, the end of the cancel window (paygent-protocol.md §1.5
100–105, §3.1). Each carrier type's table is in `states.carrier`; user authentication (104/105) is in
`carrier_openid`.

Operations that move money follow the card's write-ahead order (`operations`): transaction 1 locks
the payment, checks the carrier's table and writes the operation `sending`; the carrier is called
outside any transaction; transaction 2 (`settle`, with this method's rules) applies the answer and
writes the notice. Time is the merchant's (`later.now`), so a sandbox test clock moves expiries too.
"""

from __future__ import annotations

import contextlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from kessai.connectors.base import CarrierBilling, CarrierConsent, ConnectorResult
from kessai.core.context import Core, MerchantRef
from kessai.core.link import standing
from kessai.core.merchants.models import Merchant
from kessai.core.payments import later, operations, repository
from kessai.core.payments.card.states import Verdict
from kessai.core.payments.carrier import openid as carrier_openid
from kessai.core.payments.carrier.states import (
    CONSENT_WINDOW,
    TABLES,
    Call,
    CareerType,
    CarrierOperation,
    CarrierStatus,
    CarrierTable,
    Rule,
    judge,
    table_of,
)
from kessai.core.payments.models import Payment, PaymentOperation
from kessai.core.payments.settle import change_status, settle
from kessai.core.payments.views import OperationResult, PaymentView
from kessai.kit.clock import jst_stamp
from kessai.kit.errors import InProgress, InvalidRequest, InvalidState, KessaiError, NotFound

if TYPE_CHECKING:
    from kessai.core.payments.refs import PaymentRef

PAYMENT_TYPE = "06"
# The carriers' ceiling for one line: d払い, au and SoftBank all cap billing at 100,000 yen a month,
# so no single payment can be larger (P011). The protocol's own limit is the 6-digit field (P009).
MAX_AMOUNT = 100_000
# 支払区分 of a carrier payment: one-off (一括, the card's code), billed once on the phone bill.
PAYMENT_CLASS = "10"

Op = CarrierOperation


@dataclass(frozen=True, slots=True)
class CarrierRequest:
    """100: what to bill and where the buyer comes back to."""

    career_type: str
    amount: int
    return_url: str
    cancel_url: str
    trading_id: str = ""
    other_url: str = ""
    site_id: str = ""
    item_cd: str = ""
    pc_mobile_type: str = "0"
    open_id: str = ""
    outline: str = ""
    service_code: str = ""
    sales_flg: str = "0"


@dataclass(frozen=True, slots=True)
class Consent:
    """What the carrier's page shows for one payment."""

    payment: PaymentView
    shop_name: str
    table: CarrierTable

    @property
    def needs_login(self) -> bool:
        """A payment made with an OpenID (104) is for a buyer the carrier already knows."""
        return not self.payment.detail("login_id")


# ---------------------------------------------------------------- 100


def table_for(career_type: str, *, field: str = "career_type") -> CarrierTable:
    """The table of a requested carrier type; P010 for a type PAYGENT does not define."""
    try:
        return TABLES[CareerType(career_type.lstrip("0") or "0")]
    except ValueError:
        raise InvalidRequest("P010", field=field) from None


def apply(core: Core, merchant: MerchantRef, req: CarrierRequest) -> PaymentView:
    """Register a carrier payment (携帯キャリア決済申込); the buyer then approves it on the carrier's
    page within `CONSENT_WINDOW`. With an `open_id` (104) the page skips the carrier login."""
    table = table_for(req.career_type)
    career_type = req.career_type.lstrip("0")
    core.carrier_for(merchant)  # the carrier is reached only later: refuse (P007) before writing
    if req.amount > MAX_AMOUNT:
        raise InvalidRequest("P011")
    carrier_openid.check_url(req.return_url, "return_url")
    carrier_openid.check_url(req.cancel_url, "cancel_url")
    if req.other_url:
        carrier_openid.check_url(req.other_url, "other_url")
    login_id = (
        carrier_openid.login_of(core, merchant, career_type, req.open_id) if req.open_id else ""
    )
    return later.create(
        core,
        merchant,
        payment_type=PAYMENT_TYPE,
        trading_id=req.trading_id,
        amount=req.amount,
        site_id=req.site_id,
        due=core.now_for(merchant) + CONSENT_WINDOW,
        institution_code=career_type,
        institution_name=table.name,
        details={
            "career_type": career_type,
            "pc_mobile_type": req.pc_mobile_type or "0",
            "return_url": req.return_url,
            "cancel_url": req.cancel_url,
            "other_url": req.other_url if table.other_url else "",
            "item_cd": req.item_cd,
            "service_code": req.service_code,
            "outline": req.outline,
            "sales_flg": req.sales_flg or "0",
            "open_id": req.open_id,
            "login_id": login_id,
            "payment_class": PAYMENT_CLASS,
        },
    )


# ---------------------------------------------------------------- the carrier's page


def consent_token(secret: bytes, payment_id: int) -> str:
    """The unguessable part of a payment's carrier page URL (keyed by the server secret)."""
    return later.page_token(secret, "carrier-pay", payment_id)


def consent(core: Core, payment_id: int, token: str) -> Consent:
    """The payment a carrier page shows; NotFound for a wrong token or another method."""
    if not hmac.compare_digest(consent_token(core.secret, payment_id), token):
        raise NotFound("2006")
    with core.sessions() as session:
        payment = session.get(Payment, payment_id)
        if payment is None or payment.payment_type != PAYMENT_TYPE:
            raise NotFound("2006")
        shop = session.get(Merchant, payment.merchant_id)
        return Consent(
            PaymentView.of(payment), shop.name if shop else "", table_of(payment.institution_code)
        )


def approve(core: Core, payment_id: int, token: str, buyer: CarrierConsent) -> OperationResult:
    """The buyer approves (承認) on the carrier's page: 10 → 20, or → 40 when approval captures;
    → 15 when the carrier refuses. Approving again answers the first approval; past the consent
    window the payment is abandoned (15) and the answer is 2007."""
    view = consent(core, payment_id, token).payment
    merchant = _merchant(core, view.merchant_id)
    return operations.waiting(
        lambda: _approve_once(core, merchant, payment_id, buyer),
        lambda: reconcile(core, merchant, payment_id),
    )


def _approve_once(
    core: Core, merchant: MerchantRef, payment_id: int, buyer: CarrierConsent
) -> OperationResult:
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        payment = repository.lock_payment(session, payment_id)
        if repository.open_operation(session, payment_id) is not None:
            raise InProgress()
        if later.expire_if_due(session, payment, at):
            return OperationResult(False, PaymentView.of(payment), "2007")
        if payment.status != CarrierStatus.APPLIED:
            if payment.authorized_at is None:
                raise InvalidState("2004")  # abandoned, refused or expired before
            return OperationResult(True, PaymentView.of(payment))  # approved before
        if standing.taken_by_another(session, payment):  # a hosted page's order paid otherwise
            _abandon(session, payment, at, why="6001")
            return OperationResult(False, PaymentView.of(payment), "6001")
        table = table_of(payment.institution_code)
        capture = table.captures_on_approval(str(payment.details.get("sales_flg", "")))
        operation = Op.AUTHORIZE_CAPTURE if capture else Op.AUTHORIZE
        op = operations.open_operation(session, payment, operation, payment.amount, at.real)
        op_id, key, amount = op.id, op.idempotency_key, payment.amount
        career_type = payment.institution_code
    result = core.carrier_for(merchant).authorize(
        idempotency_key=key, career_type=career_type, amount=amount, capture=capture, consent=buyer
    )
    return _settle(core, merchant, payment_id, op_id, result)


def abandon(core: Core, payment_id: int, token: str, *, why: str) -> PaymentView:
    """The buyer leaves the carrier's page (キャンセル, or d払い's other payment methods): 10 → 15.
    Leaving again changes nothing; a payment already approved → 2004."""
    view = consent(core, payment_id, token).payment
    merchant = _merchant(core, view.merchant_id)
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        payment = repository.lock_payment(session, payment_id)
        if repository.open_operation(session, payment_id) is not None:
            raise InvalidState("2004")  # the approval is already with the carrier
        _abandon(session, payment, at, why=why)
        return PaymentView.of(payment)


def _abandon(session: Session, payment: Payment, at: later.Now, *, why: str) -> None:
    verdict = judge(table_of(payment.institution_code), _status(payment), Op.ABANDON)
    if verdict is Verdict.APPLY:
        change_status(
            session,
            payment,
            CarrierStatus.ABANDONED.value,
            operation=Op.ABANDON.value,
            now=at.merchant,
            response_detail=why,
            notify_at=at.real,
        )
    elif verdict is not Verdict.REPEAT:
        raise InvalidState("2004")


# ---------------------------------------------------------------- 101 / 102 / 103


def capture(core: Core, merchant: MerchantRef, ref: PaymentRef) -> OperationResult:
    """Capture (売上, 101) an authorised carrier payment."""
    return _operate(core, merchant, _resolve(core, merchant, ref), Op.CAPTURE)


def cancel(core: Core, merchant: MerchantRef, ref: PaymentRef) -> OperationResult:
    """Cancel (取消, 102) an authorisation or a capture, as the carrier's table allows."""
    return _operate(core, merchant, _resolve(core, merchant, ref), Op.CANCEL)


def correct(core: Core, merchant: MerchantRef, ref: PaymentRef, amount: int) -> OperationResult:
    """Reduced capture (補正売上, 103): a new payment captures the lower `amount` and the old one is
    cancelled; the answer's `payment` is the new one, `base_payment` the old. 2013 unless
    0 < amount ≤ the old amount."""
    base_id = _resolve(core, merchant, ref)
    result = _operate(core, merchant, base_id, Op.CORRECT, amount)
    if not result.ok:
        return result
    return OperationResult(True, _corrected(core, base_id), base_payment=result.payment)


@dataclass(frozen=True, slots=True)
class _Send:
    """Transaction 1's outcome: the call to make, or the answer without one."""

    refusal: KessaiError | None = None
    repeat: PaymentView | None = None
    call: Call = Call.NONE
    op_id: int = 0
    key: str = ""
    reference: str = ""
    amount: int = 0


def _operate(
    core: Core,
    merchant: MerchantRef,
    payment_id: int,
    operation: CarrierOperation,
    amount: int | None = None,
) -> OperationResult:
    return operations.waiting(
        lambda: _operate_once(core, merchant, payment_id, operation, amount),
        lambda: reconcile(core, merchant, payment_id),
    )


def _operate_once(
    core: Core,
    merchant: MerchantRef,
    payment_id: int,
    operation: CarrierOperation,
    amount: int | None,
) -> OperationResult:
    send = _begin(core, merchant, payment_id, operation, amount)
    if send.refusal is not None:
        raise send.refusal
    if send.repeat is not None:
        return OperationResult(True, send.repeat)
    carrier = core.carrier_for(merchant)
    result = _call(carrier, send)
    return _settle(core, merchant, payment_id, send.op_id, result)


def _begin(
    core: Core,
    merchant: MerchantRef,
    payment_id: int,
    operation: CarrierOperation,
    amount: int | None,
) -> _Send:
    """Transaction 1: apply what time has done, judge the operation, write it `sending`. Refusals
    are returned, not raised, so that what time did is committed."""
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        payment = repository.lock_payment(session, payment_id)
        if payment.payment_type != PAYMENT_TYPE:
            return _Send(refusal=InvalidState("2004"))  # a carrier telegram on another method
        if repository.open_operation(session, payment_id) is not None:
            raise InProgress()
        apply_timed(session, payment, at)
        table = table_of(payment.institution_code)
        match judge(table, _status(payment), operation):
            case Verdict.REPEAT:
                return _Send(repeat=PaymentView.of(payment))
            case Verdict.EXPIRED:
                return _Send(refusal=InvalidState("2007"))
            case Verdict.REFUSED:
                return _Send(refusal=InvalidState("2004"))
            case Verdict.APPLY:
                pass
        amount = payment.amount if amount is None else amount
        if not 0 < amount <= payment.amount:
            return _Send(refusal=InvalidRequest("2013"))
        rule = table.transitions[(_status(payment), operation)]
        op = operations.open_operation(session, payment, operation, amount, at.real)
        return _Send(
            call=rule.call,
            op_id=op.id,
            key=op.idempotency_key,
            reference=payment.institution_ref or "",
            amount=amount,
        )


def _call(carrier: CarrierBilling, send: _Send) -> ConnectorResult:
    match send.call:
        case Call.CAPTURE:
            return carrier.capture(
                idempotency_key=send.key, reference=send.reference, amount=send.amount
            )
        case Call.CANCEL:
            return carrier.cancel(
                idempotency_key=send.key, reference=send.reference, amount=send.amount
            )
        case Call.REDUCE:
            return carrier.reduce(
                idempotency_key=send.key, reference=send.reference, amount=send.amount
            )
        case Call.AUTHORIZE | Call.NONE:
            raise AssertionError(f"{send.call} is not a merchant's follow-up")


def _corrected(core: Core, base_id: int) -> PaymentView:
    """The payment a correction of `base_id` made (the newest, if corrected more than once)."""
    with core.sessions() as session:
        payment = repository.newest_related(session, base_id)
        assert payment is not None, f"correction of {base_id} made no payment"
        return PaymentView.of(payment)


# ---------------------------------------------------------------- settling answers


class CarrierRules:
    """A carrier's table as `settle` asks it."""

    def succeeded(
        self,
        session: Session,
        payment: Payment,
        op: PaymentOperation,
        result: ConnectorResult,
        now: datetime,
        notify_at: datetime | None,
    ) -> str:
        rule = _rule(payment, op.kind)
        operation = Op(op.kind)
        if operation in (Op.AUTHORIZE, Op.AUTHORIZE_CAPTURE):
            payment.institution_ref = result.reference
            payment.authorized_at = now
            payment.details = {
                **payment.details,
                "career_payment_id": result.reference or "",
                "accept_date": jst_stamp(now),
            }
        if operation in (Op.AUTHORIZE_CAPTURE, Op.CAPTURE):
            payment.captured_at = now
        if operation in (Op.CANCEL, Op.CORRECT):
            payment.cancelled_at = now
        if operation is Op.CORRECT:
            _add_corrected(session, payment, op.amount, result.reference or "", now, notify_at)
        return rule.on_success.value

    def declined(self, payment: Payment, op: PaymentOperation, result: ConnectorResult) -> str:
        return _rule(payment, op.kind).on_decline.value

    def unsettled(self, payment: Payment, op: PaymentOperation) -> str | None:
        shown = _rule(payment, op.kind).on_unknown
        return shown.value if shown is not None else None

    def not_sent(self, payment: Payment, op: PaymentOperation) -> str | None:
        # An approval the carrier never saw leaves the payment 10: the buyer may approve again
        # until the consent window closes (then 15, by the worker). A follow-up leaves it where it
        # is; after an unknown answer that is d払い's 30/42/34, from which the table lets the
        # merchant send 101/102/103 again (the status before the request is not on the operation).
        return None


RULES = CarrierRules()


def _rule(payment: Payment, kind: str) -> Rule:
    return table_of(payment.institution_code).transitions[(_status(payment), Op(kind))]


def _add_corrected(
    session: Session,
    base: Payment,
    amount: int,
    reference: str,
    now: datetime,
    notify_at: datetime | None,
) -> None:
    """The correction's new payment: `amount` captured (40) under the carrier's new reference."""
    payment = Payment(
        merchant_id=base.merchant_id,
        trading_id=base.trading_id,
        site_id=base.site_id,
        payment_type=PAYMENT_TYPE,
        amount=amount,
        status=CarrierStatus.APPLIED.value,
        institution_ref=reference,
        institution_code=base.institution_code,
        institution_name=base.institution_name,
        related_payment_id=base.id,
        details={**base.details, "career_payment_id": reference},
        created_at=now,
        updated_at=now,
        authorized_at=base.authorized_at,
        captured_at=now,
    )
    session.add(payment)
    session.flush()
    change_status(
        session,
        payment,
        CarrierStatus.CAPTURED.value,
        operation=Op.CORRECT.value,
        now=now,
        notify_at=notify_at,
    )


def _settle(
    core: Core, merchant: MerchantRef, payment_id: int, op_id: int, result: ConnectorResult
) -> OperationResult:
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        return settle(
            session,
            payment_id=payment_id,
            operation_id=op_id,
            result=result,
            now=at.merchant,
            rules=RULES,
            notify_at=at.real,
        )


def reconcile(core: Core, merchant: MerchantRef, payment_id: int) -> OperationResult | None:
    """Settle a carrier operation whose answer was lost, by asking the carrier (`lookup`). A
    `sending` operation that is still fresh belongs to a live request and is left alone."""
    with core.sessions() as session:
        op = repository.open_operation(session, payment_id)
        if op is None:
            return None
        if op.status == "sending" and not operations.is_stale(op, core.clock.now()):
            return None
        op_id, key = op.id, op.idempotency_key
    result = core.carrier_for(merchant).lookup(idempotency_key=key)
    return _settle(core, merchant, payment_id, op_id, result)


def reconcile_all(core: Core, merchants: dict[int, MerchantRef], *, batch: int = 100) -> int:
    """The reconciler's sweep over unsettled carrier operations (back-off as the card's)."""
    return operations.reconcile_sweep(
        core, merchants, payment_type=PAYMENT_TYPE, reconcile=reconcile, batch=batch
    )


# ---------------------------------------------------------------- time


def apply_timed(session: Session, payment: Payment, at: later.Now) -> bool:
    """Make every move time has made on the locked `payment` (completion reports, authorisation
    expiry, the end of the cancel window), in order; whether it moved. Never while an operation
    is waiting for the carrier (the caller checks)."""
    table = table_of(payment.institution_code)
    moved = False
    while (due := _due_move(table, payment, at.merchant)) is not None:
        rule = table.transitions[(_status(payment), due)]
        later.set_status(session, payment, rule.on_success.value, operation=due.value, at=at)
        moved = True
    return moved


def _due_move(table: CarrierTable, payment: Payment, now: datetime) -> CarrierOperation | None:
    for timed in table.timed:
        since: datetime | None = getattr(payment, timed.since.value)
        if payment.status == timed.status and since is not None and since + timed.after <= now:
            return timed.operation
    return None


def refresh(core: Core, merchant: MerchantRef, payment_id: int) -> PaymentView:
    """The payment as it stands (094): a lost answer is asked for first, then what time has done
    is applied (the consent window, reports, expiries)."""
    with contextlib.suppress(KessaiError):  # the inquiry still answers what we know
        reconcile(core, merchant, payment_id)
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        payment = repository.lock_payment(session, payment_id)
        if repository.open_operation(session, payment_id) is None:
            later.expire_if_due(session, payment, at)
            apply_timed(session, payment, at)
        return PaymentView.of(payment)


def expire_due(core: Core, *, batch: int = 500, merchant_id: int | None = None) -> int:
    """Every move time has made on carrier payments (the worker runs this; the consent window is
    `later.expire_due`'s; one merchant's with `merchant_id`); each payment on its merchant's time,
    under its row lock."""
    candidates: dict[int, later.Now] = {}
    for (status, since, after), codes in _timed_kinds().items():

        def find(
            session: Session,
            now: datetime,
            merchant_id: int | None,
            exclude: set[int],
            status: str = status,
            since: str = since,
            after: timedelta = after,
            codes: frozenset[str] = codes,
        ) -> list[int]:
            return repository.due_timed(
                session,
                payment_type=PAYMENT_TYPE,
                status=status,
                since=since,
                before=now - after,
                institution_codes=codes,
                limit=batch,
                merchant_id=merchant_id,
                exclude=exclude,
            )

        candidates.update(later.due_candidates(core, find, merchant_id=merchant_id))
    return later.apply_each(core, candidates, apply_timed)


def _timed_kinds() -> dict[tuple[str, str, timedelta], frozenset[str]]:
    """Each distinct timed move (status, since, after) and the carrier types that have it."""
    kinds: dict[tuple[str, str, timedelta], set[str]] = {}
    for career_type, table in TABLES.items():
        for timed in table.timed:
            key = (timed.status.value, timed.since.value, timed.after)
            kinds.setdefault(key, set()).add(career_type.value)
    return {key: frozenset(codes) for key, codes in kinds.items()}


# ---------------------------------------------------------------- helpers


def _status(payment: Payment) -> CarrierStatus:
    return CarrierStatus(payment.status)


def _merchant(core: Core, merchant_id: int) -> MerchantRef:
    with core.sessions() as session:
        return MerchantRef.of(repository.merchant_of(session, merchant_id))


def _resolve(core: Core, merchant: MerchantRef, ref: PaymentRef) -> int:
    with core.sessions() as session:
        return repository.find_payment_id(
            session,
            merchant_id=merchant.id,
            payment_id=ref.payment_id,
            trading_id=ref.trading_id,
            # By trading_id, only carrier payments; by payment_id another method's is 2004 (as 022).
            payment_type="" if ref.payment_id else PAYMENT_TYPE,
        )
