"""Payout cycles (支払サイクル): when a merchant's sales close (締め日) and when they are paid (支払日).

Three kinds, each with its closing and payout days:

- ``monthly`` (月1回): closes on `closing_day` of each month (1–28, or 31 for the month's last
  day, 末日) and pays on `payout_day` of the following month (1–28 or 31 = 末日). Default: 月末締め
  翌月末払い (31, 31).
- ``semimonthly`` (月2回): closes on the 15th and on the month's last day; the first half is paid on
  the month's last day, the second half on the 15th of the following month (15日締め当月末払い,
  末日締め翌月15日払い). The days are fixed.
- ``weekly`` (週1回): closes on the ISO weekday `closing_day` (1 Monday – 7 Sunday) and pays on the
  first ISO weekday `payout_day` after the close (a week later when both are the same day).
  Default: closes on Sunday, paid on Friday (日曜締め金曜払い).

The calendar (`calendar.py`) turns a cycle into periods and bank business days.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from kessai.kit.errors import InvalidRequest

CycleKind = Literal["monthly", "semimonthly", "weekly"]
CYCLE_KINDS: tuple[CycleKind, ...] = get_args(CycleKind)
MONTH_END = 31  # a monthly closing or payout day of 31 means the month's last day (末日)
_DEFAULTS: dict[CycleKind, tuple[int, int]] = {
    "monthly": (MONTH_END, MONTH_END),
    "semimonthly": (15, MONTH_END),
    "weekly": (7, 5),
}


@dataclass(frozen=True, slots=True)
class PayoutCycle:
    """A merchant's payout cycle. Build it with `payout_cycle`, which checks the days."""

    kind: CycleKind
    closing_day: int
    payout_day: int

    def describe(self) -> str:
        """The cycle in the words of a Japanese payout contract (月末締め翌月末払い)."""
        match self.kind:
            case "monthly":
                return f"{_day(self.closing_day)}締め翌月{_day(self.payout_day)}払い"
            case "semimonthly":
                return "15日締め当月末払い・末日締め翌月15日払い"
            case "weekly":
                return f"{_WEEKDAYS[self.closing_day]}曜締め{_WEEKDAYS[self.payout_day]}曜払い"


_WEEKDAYS = {1: "月", 2: "火", 3: "水", 4: "木", 5: "金", 6: "土", 7: "日"}


def _day(day: int) -> str:
    return "末日" if day == MONTH_END else f"{day}日"


def payout_cycle(
    kind: str, closing_day: int | None = None, payout_day: int | None = None
) -> PayoutCycle:
    """The cycle `kind` with its days (the kind's defaults where not given); InvalidRequest for an
    unknown kind or a day the kind cannot have."""
    if kind not in CYCLE_KINDS:
        raise InvalidRequest(
            field="payout_cycle",
            message=f"payout cycle must be one of {', '.join(CYCLE_KINDS)}, not {kind!r}",
        )
    cycle_kind: CycleKind = kind
    default_closing, default_payout = _DEFAULTS[cycle_kind]
    closing = default_closing if closing_day is None else closing_day
    payout = default_payout if payout_day is None else payout_day
    _check_days(cycle_kind, closing, payout)
    return PayoutCycle(kind=cycle_kind, closing_day=closing, payout_day=payout)


def _check_days(kind: CycleKind, closing: int, payout: int) -> None:
    match kind:
        case "monthly":
            allowed, words = {*range(1, 29), MONTH_END}, "1-28 or 31 (the month's last day)"
        case "semimonthly":
            allowed, words = set(), "fixed (the 15th and the last day)"
            if (closing, payout) == _DEFAULTS["semimonthly"]:
                return
        case "weekly":
            allowed, words = set(range(1, 8)), "an ISO weekday, 1 (Monday) to 7 (Sunday)"
    for field, day in (("closing_day", closing), ("payout_day", payout)):
        if day not in allowed:
            raise InvalidRequest(
                field=field, message=f"{kind} {field.replace('_', ' ')} is {words}, not {day}"
            )
