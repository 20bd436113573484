"""Bank business days in Japan (deadlines of bank net and virtual accounts count them)."""

from __future__ import annotations

from datetime import date

from kessai.kit.clock import add_business_days, is_business_day


def test_weekends_holidays_and_the_year_end_closure_are_not_business_days() -> None:
    assert is_business_day(date(2026, 11, 27))  # a Friday
    assert not is_business_day(date(2026, 11, 28))  # Saturday
    assert not is_business_day(date(2026, 11, 23))  # 勤労感謝の日 (a Monday)
    assert not is_business_day(date(2026, 12, 31))
    assert is_business_day(date(2027, 1, 4))  # banks reopen on 1/4
    assert not is_business_day(date(2027, 1, 2))


def test_adding_business_days_skips_what_is_closed() -> None:
    assert add_business_days(date(2026, 11, 27), 2) == date(2026, 12, 1)  # Fri → Tue
    assert add_business_days(date(2026, 11, 20), 1) == date(2026, 11, 24)  # over 11/23
    assert add_business_days(date(2026, 12, 29), 2) == date(2027, 1, 4)  # 12/30, then 1/4
    assert add_business_days(date(2026, 11, 28), 0) == date(2026, 11, 30)  # Sat → Mon
