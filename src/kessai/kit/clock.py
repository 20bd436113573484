"""An injectable clock. Times are timezone-aware; business dates are computed in Asia/Tokyo."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import jpholiday

JST = ZoneInfo("Asia/Tokyo")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FrozenClock:
    """A clock for tests: stands still until told to move."""

    current: datetime = field(default_factory=lambda: datetime(2026, 4, 1, 3, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


def as_utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def jst_stamp(moment: datetime | None, fmt: str = "%Y%m%d%H%M%S") -> str:
    """A protocol time stamp (`YYYYMMDDhhmmss`, Japan time); empty for no time."""
    return "" if moment is None else as_utc(moment).astimezone(JST).strftime(fmt)


def is_business_day(day: date) -> bool:
    """A Japanese bank business day: not a weekend, a national holiday or the year-end closure
    (12/31–1/3, when banks are shut although only 1/1 is a national holiday)."""
    if day.weekday() >= 5 or jpholiday.is_holiday(day):
        return False
    return not ((day.month == 12 and day.day == 31) or (day.month == 1 and day.day <= 3))


def add_business_days(day: date, count: int) -> date:
    """The `count`-th bank business day after `day` (0: `day` itself if a business day, else the
    next one)."""
    while not is_business_day(day):
        day += timedelta(days=1)
    for _ in range(count):
        day += timedelta(days=1)
        while not is_business_day(day):
            day += timedelta(days=1)
    return day
