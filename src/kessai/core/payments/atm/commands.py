"""ATM / Pay-easy payments (ペイジー, telegram 010): apply, paid (消込), expired (paygent-protocol.md
§1.5 010, §3.5). The shared mechanics of methods paid later are in `later`.

Issuing numbers moves no money, so the agency is asked before the payment is written (one
transaction, no write-ahead).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from kessai.core.context import Core, MerchantRef
from kessai.core.payments import later
from kessai.core.payments.atm.states import AtmOperation, AtmStatus
from kessai.core.payments.views import PaymentView

PAYMENT_TYPE = "01"
DEFAULT_LIMIT_DAYS = 30


@dataclass(frozen=True, slots=True)
class AtmRequest:
    trading_id: str
    amount: int
    payment_detail: str
    payment_detail_kana: str
    limit_days: int = DEFAULT_LIMIT_DAYS
    customer_family_name: str = ""
    customer_name: str = ""
    customer_family_name_kana: str = ""
    customer_name_kana: str = ""
    site_id: str = ""


def apply(core: Core, merchant: MerchantRef, req: AtmRequest) -> PaymentView:
    """Register an ATM payment (ATM決済申込) and issue the numbers the buyer pays with."""
    due = later.deadline(core.now_for(merchant), req.limit_days)
    numbers = core.payeasy_for(merchant).issue(idempotency_key=uuid.uuid4().hex, amount=req.amount)
    return later.create(
        core,
        merchant,
        payment_type=PAYMENT_TYPE,
        trading_id=req.trading_id,
        amount=req.amount,
        site_id=req.site_id,
        due=due,
        details={
            "pay_center_number": numbers.pay_center_number,
            "customer_number": numbers.customer_number,
            "conf_number": numbers.conf_number,
            "payment_detail": req.payment_detail,
            "payment_detail_kana": req.payment_detail_kana,
            "customer_family_name": req.customer_family_name,
            "customer_name": req.customer_name,
            "customer_family_name_kana": req.customer_family_name_kana,
            "customer_name_kana": req.customer_name_kana,
        },
    )


def pay(
    core: Core,
    merchant: MerchantRef,
    payment_id: int,
    *,
    paid_at: datetime | None = None,
    bank_code: str = "9900",
) -> PaymentView:
    """The bank reports the buyer paid (消込): 10 → 40. Paid after the deadline → 2004 (the bank
    would not have taken it); paid twice → the first payment stands."""
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        paid_at = paid_at or at.merchant
        payment, to_pay = later.payable(
            session, merchant, payment_id, PAYMENT_TYPE, paid_at, done=(AtmStatus.PAID,)
        )
        if not to_pay:
            return PaymentView.of(payment)
        payment.captured_at = paid_at
        payment.details = {**(payment.details or {}), "bank_code": bank_code}
        later.set_status(session, payment, AtmStatus.PAID.value, operation=AtmOperation.PAY, at=at)
        return PaymentView.of(payment)


def expire_due(core: Core) -> int:
    """10 → 12 for every unpaid ATM payment past its deadline."""
    return later.expire_due(core, payment_type=PAYMENT_TYPE)
