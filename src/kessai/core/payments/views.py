"""Read models handed to the faces: plain values, no session attached."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kessai.core.payments.models import Payment


@dataclass(frozen=True, slots=True)
class PaymentView:
    payment_id: int
    merchant_id: int
    trading_id: str
    site_id: str
    payment_type: str
    status: str
    amount: int
    institution_code: str
    institution_name: str
    related_payment_id: int | None
    vault_card_id: int | None
    created_at: datetime
    authorized_at: datetime | None
    captured_at: datetime | None
    cancelled_at: datetime | None
    due_at: datetime | None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, payment: Payment) -> PaymentView:
        return cls(
            payment_id=payment.id,
            merchant_id=payment.merchant_id,
            trading_id=payment.trading_id,
            site_id=payment.site_id,
            payment_type=payment.payment_type,
            status=payment.status,
            amount=payment.amount,
            institution_code=payment.institution_code,
            institution_name=payment.institution_name,
            related_payment_id=payment.related_payment_id,
            vault_card_id=payment.vault_card_id,
            created_at=payment.created_at,
            authorized_at=payment.authorized_at,
            captured_at=payment.captured_at,
            cancelled_at=payment.cancelled_at,
            due_at=payment.due_at,
            details=dict(payment.details or {}),
        )

    def detail(self, name: str) -> str:
        value = self.details.get(name, "")
        return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class OperationResult:
    """The answer to one operation: success, or the institution's refusal (a result, not an
    exception). `payment` is set whenever a payment exists to report."""

    ok: bool
    payment: PaymentView | None
    response_code: str = ""
    response_detail: str = ""
    base_payment: PaymentView | None = None  # 028/029: the payment that was corrected
