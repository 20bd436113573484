"""How a follow-up telegram names its payment, shared by every method's commands and the faces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PaymentRef:
    """How a follow-up telegram names its payment: payment_id or trading_id (or both)."""

    payment_id: str = ""
    trading_id: str = ""
