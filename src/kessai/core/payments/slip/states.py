"""The CVS payment slip (コンビニ払込票) state machine (paygent-protocol.md §3.4), as a table.

The buyer pays the slip at any listed chain's till; the agency reports it the day after as a
preliminary payment 10 → 43 (速報), confirmed 43 → 40 one to five days later or, rarely, withdrawn
43 → 61; 10 → 12 once the deadline passed unpaid. A slip printed without an application (the
buyer's own copy of a slip layout) is first seen when it is paid: such a payment starts at 43.
10 is not notified; 12, 40, 43 and 61 are (● in §3.1).
"""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never


class SlipStatus(StrEnum):
    APPLIED = "10"  # 申込済
    EXPIRED = "12"  # 支払期限切
    PAID = "40"  # 消込済
    REPORTED = "43"  # 速報検知済
    REPORT_CANCELLED = "61"  # 速報取消済


STATUS_NAMES: dict[SlipStatus, str] = {
    SlipStatus.APPLIED: "申込済",
    SlipStatus.EXPIRED: "支払期限切",
    SlipStatus.PAID: "消込済",
    SlipStatus.REPORTED: "速報検知済",
    SlipStatus.REPORT_CANCELLED: "速報取消済",
}


class SlipOperation(StrEnum):
    APPLY = "apply"  # telegram 040: the slip is issued
    REPORT_UNAPPLIED = "report_unapplied"  # a slip paid that was never applied for
    REPORT = "report"  # the agency's preliminary report of a till payment (速報)
    CONFIRM = "confirm"  # the agency confirms it (確報)
    CANCEL_REPORT = "cancel_report"  # the agency withdraws it
    EXPIRE = "expire"  # the deadline passed unpaid


# Where a payment starts, by the operation that creates it.
INITIAL: dict[SlipOperation, SlipStatus] = {
    SlipOperation.APPLY: SlipStatus.APPLIED,
    SlipOperation.REPORT_UNAPPLIED: SlipStatus.REPORTED,
}

TRANSITIONS: dict[tuple[SlipStatus, SlipOperation], SlipStatus] = {
    (SlipStatus.APPLIED, SlipOperation.REPORT): SlipStatus.REPORTED,
    (SlipStatus.REPORTED, SlipOperation.CONFIRM): SlipStatus.PAID,
    (SlipStatus.REPORTED, SlipOperation.CANCEL_REPORT): SlipStatus.REPORT_CANCELLED,
    (SlipStatus.APPLIED, SlipOperation.EXPIRE): SlipStatus.EXPIRED,
}


def notifies_merchant(status: SlipStatus) -> bool:
    """Statuses delivered by 091 and the push (● in §3.1: 12, 40, 43 and 61, not 10)."""
    match status:
        case (
            SlipStatus.EXPIRED | SlipStatus.PAID | SlipStatus.REPORTED | SlipStatus.REPORT_CANCELLED
        ):
            return True
        case SlipStatus.APPLIED:
            return False
        case _:
            assert_never(status)


def holds_money(status: SlipStatus) -> bool:
    """The buyer's money is the merchant's (a sale in the ledger): confirmed paid (確報, 40); a
    preliminary report (速報, 43) is not money yet."""
    match status:
        case SlipStatus.PAID:
            return True
        case (
            SlipStatus.APPLIED
            | SlipStatus.EXPIRED
            | SlipStatus.REPORTED
            | SlipStatus.REPORT_CANCELLED
        ):
            return False
        case _:
            assert_never(status)
