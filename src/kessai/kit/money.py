"""Money is integer yen. No floats anywhere."""

from __future__ import annotations

from typing import NewType

Yen = NewType("Yen", int)

CARD_AMOUNT_MAX = Yen(9_999_999)  # telegram 020: payment_amount is 7 digits


def format_yen(amount: int) -> str:
    """`1,234円` for people."""
    return f"{amount:,}円"
