"""When a statement is paid out.

`payout_date_for` is the one place the payout day is decided. Until merchants' payout cycles and the
bank calendar of the payouts area (`kessai.core.payouts.calendar`, issue #12's other half) are in,
the rule is simple: the last bank business day of the month after the statement's closing date
(月末締め翌月末払い).
"""

from __future__ import annotations

from datetime import date, timedelta

from kessai.kit.clock import is_business_day


def payout_date_for(merchant_id: int, through: date) -> date:
    """The payout day of `merchant_id`'s statement closed through `through`: the last bank
    business day of the following month."""
    year, month = (
        (through.year + 1, 1) if through.month == 12 else (through.year, through.month + 1)
    )
    after = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    day = after - timedelta(days=1)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day
