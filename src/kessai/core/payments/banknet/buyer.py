"""The buyer's side of bank net payments, as the core sees it: Kessai's bank-selection page (the
`asp_url` of 060) and the simulated bank's page where the buyer pays, refuses or leaves. The HTML
is `kessai.web.buyer.banknet`'s.

Both URLs carry an HMAC of the server secret (`hv`, the bank page's token), so applications and
payments cannot be walked by changing an ID. The merchant's clearing never rests on the buyer's
return to `return_url`: the bank's completion notice clears the payment here, before any redirect.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from kessai.connectors.base import NetBank, Outcome
from kessai.core.context import Core, MerchantRef
from kessai.core.link import standing
from kessai.core.merchants.models import Merchant
from kessai.core.payments import later
from kessai.core.payments.banknet import clearing as banknet_clearing
from kessai.core.payments.banknet import commands as banknet
from kessai.core.payments.banknet.commands import RequestView
from kessai.core.payments.banknet.states import BankNetStatus
from kessai.core.payments.models import Payment
from kessai.core.payments.views import PaymentView
from kessai.kit.errors import InvalidState, NotFound

Action = Literal["pay", "fail", "abandon"]
# What the bank's answer means for the buyer's return (§1.5: 0 ok, 1 error, 2 unknown).
RESULTS: dict[Outcome, str] = {Outcome.SUCCEEDED: "0", Outcome.DECLINED: "1"}


def selection_hash(secret: bytes, merchant_id: int, trading_id: str) -> str:
    """`hv` of the selection page's URL: one per (merchant, trading_id), like the application."""
    return _mac(secret, f"banknet-asp:{merchant_id}:{trading_id}")


def bank_token(secret: bytes, payment_id: int) -> str:
    """The unguessable part of a payment's bank page URL."""
    return later.page_token(secret, "banknet-bank", payment_id)


def _mac(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Selection:
    """The bank-selection page: the application, the banks, and why it is closed ("" if open:
    5008 paid, 5009 past asp_limit_date, 5011 too many choices)."""

    merchant: MerchantRef
    request: RequestView
    banks: tuple[NetBank, ...]
    closed: str


def selection(core: Core, merchant_id: int, trading_id: str, hv: str) -> Selection:
    """What the selection page shows; NotFound for a wrong `hv` or no such application."""
    if not hmac.compare_digest(selection_hash(core.secret, merchant_id, trading_id), hv):
        raise NotFound("2006")
    with core.sessions() as session:
        merchant = _merchant(session, merchant_id)
        row = banknet.find_request(session, merchant_id, trading_id)
        if row is None:
            raise NotFound("2006")
        request = RequestView.of(row)
    return Selection(merchant, request, _banks(core, merchant), _closed(request, merchant, core))


def choose(core: Core, merchant_id: int, trading_id: str, hv: str, bank_code: str) -> PaymentView:
    """The buyer picks `bank_code`: a new payment (10) at that bank (5008/5009/5011, P010)."""
    page = selection(core, merchant_id, trading_id, hv)
    return banknet.choose_bank(core, page.merchant, page.request.request_id, bank_code)


def _banks(core: Core, merchant: MerchantRef) -> tuple[NetBank, ...]:
    return core.banknet_for(merchant).banks()


def _closed(request: RequestView, merchant: MerchantRef, core: Core) -> str:
    if request.paid_payment_id is not None:
        return "5008"
    if core.now_for(merchant) > request.limit_at:
        return "5009"
    return "5011" if request.selections >= banknet.MAX_SELECTIONS else ""


@dataclass(frozen=True, slots=True)
class AtBank:
    """The bank's page for one payment, and why it takes no payment ("" if it does: 5008 paid,
    5009 closed or past its deadline)."""

    merchant: MerchantRef
    payment: PaymentView
    request: RequestView
    bank: NetBank
    reference: str  # the bank's reference (受付番号)
    closed: str
    result: str = ""  # after the buyer's answer: "0" paid, "1" refused, "2" unknown

    @property
    def returns_result(self) -> bool:
        """Whether the bank sends the buyer back with result/payment_id/trading_id (§1.5)."""
        return self.bank.code in banknet.RETURNS_RESULT


def at_bank(core: Core, payment_id: int, token: str) -> AtBank:
    """What the bank's page shows; NotFound for a wrong token or another method."""
    if not hmac.compare_digest(bank_token(core.secret, payment_id), token):
        raise NotFound("2006")
    with core.sessions() as session:
        payment = session.get(Payment, payment_id)
        if payment is None or payment.payment_type != banknet.PAYMENT_TYPE:
            raise NotFound("2006")
        merchant = _merchant(session, payment.merchant_id)
        row = banknet.locate_request(session, merchant, int(payment.details["request_id"]))
        view, request = PaymentView.of(payment), RequestView.of(row)
        reference = payment.institution_ref or ""
        # A hosted page's order paid by another method meanwhile (another tab): not here too.
        taken = view.status == BankNetStatus.APPLIED and standing.taken_by_another(session, payment)
    bank = banknet.bank_of(core, merchant, view.detail("bank_code"))
    closed = "5008" if taken else _payment_closed(view, request, core.now_for(merchant))
    return AtBank(merchant, view, request, bank, reference, closed)


def answer(core: Core, payment_id: int, token: str, action: Action) -> AtBank:
    """The buyer's answer on the bank's page. "pay" / "fail": the bank takes the money or refuses
    (the sandbox bank does as the buyer asks), and its completion notice is applied at once;
    "abandon": the buyer leaves, nothing moves. 5008/5009 when the page takes no payment."""
    page = at_bank(core, payment_id, token)
    if action == "abandon":
        return replace(page, payment=banknet_clearing.abandon(core, page.merchant, payment_id))
    if page.closed:
        raise InvalidState(page.closed)
    bank = core.banknet_for(page.merchant)
    result = bank.complete(reference=page.reference, approve=action == "pay")
    view = banknet_clearing.receive_completion(core, page.merchant, payment_id, result)
    return replace(page, payment=view, result=RESULTS.get(result.outcome, "2"))


def _payment_closed(view: PaymentView, request: RequestView, now: datetime) -> str:
    if view.status == BankNetStatus.PAID or request.paid_payment_id is not None:
        return "5008"
    if view.status != BankNetStatus.APPLIED or (view.due_at is not None and now > view.due_at):
        return "5009"
    return ""


def _merchant(session: Session, merchant_id: int) -> MerchantRef:
    row = session.get(Merchant, merchant_id)
    if row is None:
        raise NotFound("2006")
    return MerchantRef.of(row)
