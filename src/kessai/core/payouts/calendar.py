"""The payout calendar: which period a day's sales belong to, and the bank day it is paid on.

Pure: dates in, dates out (dates are Japan dates). A period runs from the day after one closing day
to the next closing day (`period_through`, 締め日), so every day belongs to exactly one period and
the periods follow each other without gaps. Its payout date is the cycle's payout day after that
close (`cycles.py`), moved to a bank business day (`kit.clock.is_business_day`: not Saturday or
Sunday, not a national holiday, not 12/31–1/3).

The move is to the **previous** business day (前営業日払い), as Japanese payment providers usually
pay: a merchant is never paid later than the contract says. When the previous business day would be
the closing day or earlier (a weekly cycle paid the day after its close, a payout day of the 1st
after the New Year closure) the payout moves to the **next** business day instead: money is never
paid out for a period before the period has closed.
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date, timedelta

from kessai.core.payouts.cycles import MONTH_END, PayoutCycle
from kessai.kit.clock import is_business_day

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PayoutPeriod:
    """One period of a cycle: the sales of `period_from`–`period_through` paid on `payout_date`."""

    period_from: date
    period_through: date  # the closing day (締め日)
    payout_date: date  # a bank business day after period_through


def period_of(cycle: PayoutCycle, day: date) -> PayoutPeriod:
    """The period `day` falls in."""
    closing = closing_on_or_after(cycle, day)
    return PayoutPeriod(
        period_from=_previous_closing(cycle, closing) + _DAY,
        period_through=closing,
        payout_date=payout_date(cycle, closing),
    )


def periods_paid_on(cycle: PayoutCycle, day: date) -> list[PayoutPeriod]:
    """The periods whose payout falls on `day` (none on most days; at most one in practice)."""
    found: list[PayoutPeriod] = []
    period = period_of(cycle, day - timedelta(days=75))  # a payout is < 2 months after its close
    while period.period_through < day:
        if period.payout_date == day:
            found.append(period)
        period = period_of(cycle, period.period_through + _DAY)
    return found


def closing_on_or_after(cycle: PayoutCycle, day: date) -> date:
    """The first closing day of the cycle on or after `day`."""
    match cycle.kind:
        case "weekly":
            return day + timedelta(days=(cycle.closing_day - day.isoweekday()) % 7)
        case "monthly":
            closing = _day_of_month(day.year, day.month, cycle.closing_day)
            if day <= closing:
                return closing
            year, month = _next_month(day.year, day.month)
            return _day_of_month(year, month, cycle.closing_day)
        case "semimonthly":
            if day.day <= 15:
                return day.replace(day=15)
            return _day_of_month(day.year, day.month, MONTH_END)


def scheduled_payout(cycle: PayoutCycle, closing: date) -> date:
    """The payout day the contract names for the period closing on `closing` (before the move to a
    business day)."""
    match cycle.kind:
        case "weekly":
            return closing + timedelta(days=(cycle.payout_day - cycle.closing_day) % 7 or 7)
        case "monthly":
            year, month = _next_month(closing.year, closing.month)
            return _day_of_month(year, month, cycle.payout_day)
        case "semimonthly":
            if closing.day == 15:
                return _day_of_month(closing.year, closing.month, MONTH_END)
            year, month = _next_month(closing.year, closing.month)
            return date(year, month, 15)


def payout_date(cycle: PayoutCycle, closing: date) -> date:
    """The business day the period closing on `closing` is paid on (see the module docstring)."""
    scheduled = scheduled_payout(cycle, closing)
    earlier = scheduled
    while not is_business_day(earlier):
        earlier -= _DAY
    if earlier > closing:
        return earlier
    later = scheduled
    while not is_business_day(later):
        later += _DAY
    return later


def _previous_closing(cycle: PayoutCycle, closing: date) -> date:
    match cycle.kind:
        case "weekly":
            return closing - timedelta(days=7)
        case "monthly":
            first = closing.replace(day=1)
            previous = first - _DAY
            return _day_of_month(previous.year, previous.month, cycle.closing_day)
        case "semimonthly":
            if closing.day == 15:
                return closing.replace(day=1) - _DAY
            return closing.replace(day=15)


def _day_of_month(year: int, month: int, day: int) -> date:
    """`day` of the month; MONTH_END (31) is the month's last day."""
    last = month_calendar.monthrange(year, month)[1]
    return date(year, month, last if day == MONTH_END else day)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)
