"""An injectable clock. Times are timezone-aware; business dates are computed in Asia/Tokyo."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

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
