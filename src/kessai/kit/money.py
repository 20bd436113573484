"""Money is `int` yen. Each rounding rule is one named function here, never inline.

- `percent_of` — a rate in 0.01 % steps (basis points) of an amount, fractions of a yen dropped
  (円未満切り捨て), toward zero, so a refund returns exactly what its sale charged.
- `consumption_tax` — consumption tax on an amount, computed once per statement and rate as the
  qualified-invoice rules require (適格請求書: one rounding per rate per invoice), fractions
  dropped toward zero.
"""

from __future__ import annotations

BASIS_POINTS = 10_000  # 100 % in 0.01 % steps


def percent_of(amount: int, rate_bp: int) -> int:
    """`rate_bp` / 100 % of `amount` yen, fractions of a yen dropped (toward zero)."""
    sign = -1 if amount < 0 else 1
    return sign * (abs(amount) * rate_bp // BASIS_POINTS)


def consumption_tax(taxable: int, rate_percent: int) -> int:
    """Consumption tax at `rate_percent` % on `taxable` yen (tax excluded), fractions of a yen
    dropped (toward zero): once per statement and rate."""
    sign = -1 if taxable < 0 else 1
    return sign * (abs(taxable) * rate_percent // 100)
