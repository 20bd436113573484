"""The payout calendar: periods that tile the year, payouts on bank business days after the close."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kessai.core.payouts.calendar import PayoutPeriod, period_of, periods_paid_on
from kessai.core.payouts.cycles import PayoutCycle, payout_cycle
from kessai.kit.clock import is_business_day

MONTHLY, SEMIMONTHLY, WEEKLY = (
    payout_cycle("monthly"),
    payout_cycle("semimonthly"),
    payout_cycle("weekly"),
)
month_days = st.one_of(st.integers(1, 28), st.just(31))
cycles = st.one_of(
    st.builds(payout_cycle, st.just("monthly"), month_days, month_days),
    st.just(SEMIMONTHLY),
    st.builds(payout_cycle, st.just("weekly"), st.integers(1, 7), st.integers(1, 7)),
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@given(cycles, days, st.integers(0, 40))
def test_every_day_belongs_to_exactly_one_period(cycle: PayoutCycle, day: date, k: int) -> None:
    period = period_of(cycle, day)
    assert period.period_from <= day <= period.period_through
    other = period.period_from + timedelta(days=k)
    if other <= period.period_through:
        assert period_of(cycle, other) == period  # any day of it names the same period


@given(cycles, days)
def test_periods_follow_each_other_without_gap_or_overlap(cycle: PayoutCycle, day: date) -> None:
    period = period_of(cycle, day)
    following = period_of(cycle, period.period_through + timedelta(days=1))
    preceding = period_of(cycle, period.period_from - timedelta(days=1))
    assert following.period_from == period.period_through + timedelta(days=1)
    assert preceding.period_through == period.period_from - timedelta(days=1)


@given(cycles, days)
def test_payout_is_a_business_day_after_the_close(cycle: PayoutCycle, day: date) -> None:
    period = period_of(cycle, day)
    assert is_business_day(period.payout_date)
    assert period.payout_date > period.period_through
    assert period.payout_date - period.period_through < timedelta(days=70)
    assert period in periods_paid_on(cycle, period.payout_date)


def test_monthly_pays_the_next_month_end_or_the_business_day_before() -> None:
    assert period_of(MONTHLY, date(2026, 1, 10)) == PayoutPeriod(
        date(2026, 1, 1),
        date(2026, 1, 31),
        date(2026, 2, 27),  # 2/28 is a Saturday
    )
    # November's payout, 12/31, falls in the year-end closure: paid 12/30.
    assert period_of(MONTHLY, date(2026, 11, 30)).payout_date == date(2026, 12, 30)


def test_semimonthly_halves() -> None:
    assert period_of(SEMIMONTHLY, date(2026, 12, 15)) == PayoutPeriod(
        date(2026, 12, 1), date(2026, 12, 15), date(2026, 12, 30)
    )
    assert period_of(SEMIMONTHLY, date(2026, 12, 16)) == PayoutPeriod(
        date(2026, 12, 16), date(2026, 12, 31), date(2027, 1, 15)
    )
    assert period_of(SEMIMONTHLY, date(2027, 2, 20)).period_through == date(2027, 2, 28)


def test_weekly_pays_the_friday_after_a_sunday_close_or_the_day_before_a_holiday() -> None:
    assert period_of(WEEKLY, date(2026, 11, 25)) == PayoutPeriod(
        date(2026, 11, 23), date(2026, 11, 29), date(2026, 12, 4)
    )
    # The week closing Sunday 2026-03-15 is due Friday 3/20, 春分の日: paid Thursday 3/19.
    assert period_of(WEEKLY, date(2026, 3, 15)).payout_date == date(2026, 3, 19)


def test_a_payout_the_day_after_the_close_moves_later_not_before_the_close() -> None:
    # Closes Sunday 2027-01-10, paid Monday 1/11 — 成人の日, a holiday: the previous business day
    # would be before the close, so it is paid on Tuesday 1/12.
    cycle = payout_cycle("weekly", 7, 1)
    assert period_of(cycle, date(2027, 1, 10)).payout_date == date(2027, 1, 12)
    # Closes 12/31, paid on the 1st: the year-end closure pushes it to 1/4.
    monthly_first = payout_cycle("monthly", 31, 1)
    assert period_of(monthly_first, date(2026, 12, 31)).payout_date == date(2027, 1, 4)
