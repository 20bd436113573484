"""A statement's payout date: the merchant's cycle on the bank calendar, closed only on the cycle's
closing days; the default (月末締め翌月末払い) for a merchant without a cycle."""

from __future__ import annotations

from datetime import date

import pytest

from kessai.core.payouts.cycles import payout_cycle
from kessai.core.statements.payout_date import payout_date_for
from kessai.kit.errors import InvalidRequest


@pytest.mark.parametrize(
    ("through", "payout"),
    [
        (date(2026, 11, 30), date(2026, 12, 30)),  # 12/31 is the banks' year-end closure
        (date(2026, 12, 15), date(2027, 1, 29)),  # 1/31 is a Sunday
        (date(2027, 1, 31), date(2027, 2, 26)),  # 2/28 is a Sunday
    ],
)
def test_without_a_cycle_any_day_closes_and_pays_the_last_business_day_of_the_next_month(
    through, payout
):
    assert payout_date_for(None, through) == payout


@pytest.mark.parametrize(
    ("cycle", "through", "payout"),
    [
        (payout_cycle("monthly", 20, 10), date(2026, 11, 20), date(2026, 12, 10)),
        (payout_cycle("monthly", 20, 10), date(2026, 12, 20), date(2027, 1, 8)),  # 1/10 Sunday
        (payout_cycle("semimonthly"), date(2026, 12, 15), date(2026, 12, 30)),
        (payout_cycle("semimonthly"), date(2026, 11, 30), date(2026, 12, 15)),
        (payout_cycle("weekly"), date(2026, 11, 29), date(2026, 12, 4)),  # Sunday → Friday
        (payout_cycle("monthly"), date(2026, 11, 30), date(2026, 12, 30)),
    ],
)
def test_a_merchant_with_a_cycle_is_paid_on_its_calendar(cycle, through, payout):
    assert payout_date_for(cycle, through) == payout


@pytest.mark.parametrize(
    ("cycle", "through", "next_closing"),
    [
        (payout_cycle("monthly", 20, 10), date(2026, 11, 30), "2026-12-20"),
        (payout_cycle("semimonthly"), date(2026, 12, 14), "2026-12-15"),
        (payout_cycle("weekly"), date(2026, 12, 4), "2026-12-06"),
        (payout_cycle("monthly"), date(2026, 11, 29), "2026-11-30"),
    ],
)
def test_a_close_through_a_day_the_cycle_does_not_close_on_is_refused(cycle, through, next_closing):
    with pytest.raises(InvalidRequest, match=f"not a closing day.*next one is {next_closing}"):
        payout_date_for(cycle, through)
