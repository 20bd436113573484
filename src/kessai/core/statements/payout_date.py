"""When a statement is paid out, and which days a statement may close through.

`payout_date_for` is the one place the payout day of a statement is decided, from the merchant's
payout cycle (`kessai.core.payouts.cycles`) and the bank calendar (`kessai.core.payouts.calendar`):

- A merchant **with a cycle** closes only on the cycle's closing days (締め日): `through` must be
  one, or the statement's period would not be a period of the contract and its payout date would
  be a guess. A close may still span several periods (a missed close caught up): it is paid on the
  payout date of the last one.
- A merchant **without a cycle** has no contract closing day, so any day may be closed; it is paid
  as the default cycle pays, 月末締め翌月末払い: the last bank business day of the month after
  `through` (`DEFAULT_CYCLE`, the monthly cycle's defaults).
"""

from __future__ import annotations

from datetime import date

from kessai.core.payouts.calendar import closing_on_or_after, payout_date
from kessai.core.payouts.cycles import PayoutCycle, payout_cycle
from kessai.kit.errors import InvalidRequest

DEFAULT_CYCLE = payout_cycle("monthly")  # 月末締め翌月末払い


def payout_date_for(cycle: PayoutCycle | None, through: date) -> date:
    """The payout day of a statement closed through `through` by a merchant with `cycle` (None:
    no cycle set). InvalidRequest when the cycle does not close on `through`."""
    if cycle is None:
        return payout_date(DEFAULT_CYCLE, through)
    check_closing_day(cycle, through)
    return payout_date(cycle, through)


def check_closing_day(cycle: PayoutCycle, through: date) -> None:
    """Refuse a `through` that is not one of `cycle`'s closing days, naming the next one."""
    closing = closing_on_or_after(cycle, through)
    if closing != through:
        raise InvalidRequest(
            field="through",
            message=f"--through {through} is not a closing day of the merchant's payout cycle "
            f"({cycle.describe()}); the next one is {closing}",
        )
