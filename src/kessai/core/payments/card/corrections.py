"""Amount corrections (補正) 028/029: a new payment for the new amount, the old one voided or
cancelled (paygent-protocol.md §1.5, §3.2). Partial refunds of captured payments are done this way."""

from __future__ import annotations

from dataclasses import dataclass

from kessai.core.context import Core, MerchantRef
from kessai.core.payments.card import commands
from kessai.core.payments.card.commands import AuthorizeRequest
from kessai.core.payments.card.states import CardOperation, CardStatus
from kessai.core.payments.refs import PaymentRef
from kessai.core.payments.views import OperationResult, PaymentView
from kessai.kit.errors import InvalidRequest, InvalidState


@dataclass(frozen=True, slots=True)
class CorrectionRequest:
    ref: PaymentRef
    amount: int
    is_reduction: bool  # reduction_flag=1: `amount` is taken off; 0: `amount` is the new total
    capture: bool  # 029 (補正売上) captures the new payment; 028 only authorises it
    cancel_first: bool = False  # base_payment_cancel_timing=1


def correct(core: Core, merchant: MerchantRef, req: CorrectionRequest) -> OperationResult:
    """Re-authorise (and for 029 capture) the new amount on the same card; void/cancel the old."""
    base = commands.inquire(core, merchant, req.ref)
    _check_base(base, req)
    new_amount = base.amount - req.amount if req.is_reduction else req.amount
    if new_amount <= 0 or new_amount > base.amount:
        raise InvalidRequest("2013")
    old_op = CardOperation.VOID if base.status == CardStatus.AUTHORIZED else CardOperation.REFUND
    failed_code = "2010" if old_op is CardOperation.VOID else "2012"
    if req.cancel_first:
        old = commands.operate(core, merchant, base.payment_id, old_op)
        if not old.ok:
            return OperationResult(False, old.payment, failed_code, old.response_detail)
    new = commands.authorize(core, merchant, _new_authorization(base, new_amount, req.capture))
    if not new.ok or req.cancel_first:
        return OperationResult(
            new.ok,
            new.payment,
            new.response_code,
            new.response_detail,
            base_payment=commands.inquire_by_id(core, base.payment_id),
        )
    old = commands.operate(core, merchant, base.payment_id, old_op)
    if not old.ok:
        # The new authorisation stands; the merchant is told the old one is still live.
        return OperationResult(
            False, new.payment, failed_code, old.response_detail, base_payment=old.payment
        )
    return OperationResult(True, new.payment, base_payment=old.payment)


def _check_base(base: PaymentView, req: CorrectionRequest) -> None:
    if base.payment_type != "02":
        raise InvalidState("2004")
    allowed = {CardStatus.AUTHORIZED} | ({CardStatus.CAPTURED} if req.capture else set())
    if base.status in (CardStatus.AUTH_EXPIRED, CardStatus.CAPTURED_CLOSED):
        raise InvalidState("2007")
    if base.status not in allowed:
        raise InvalidState("2004")


def _new_authorization(base: PaymentView, amount: int, capture: bool) -> AuthorizeRequest:
    return AuthorizeRequest(
        trading_id=base.trading_id,
        amount=amount,
        capture=capture,
        vault_card_id=base.vault_card_id,
        valid_term=base.detail("card_valid_term"),
        site_id=base.site_id,
        payment_class=base.detail("payment_class") or "10",
        split_count=base.detail("split_count"),
        related_payment_id=base.payment_id,
        customer_id=base.detail("customer_id"),
        customer_card_id=base.detail("customer_card_id"),
    )
