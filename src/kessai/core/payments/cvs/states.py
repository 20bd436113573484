"""The CVS number (コンビニ番号方式) state machine (paygent-protocol.md §3.3), as a table.

10 → 40 when the buyer pays at the till (most chains, real time); 7-Eleven and FamilyMart first
report a preliminary payment 10 → 43 (速報), confirmed 43 → 40 days later or, rarely, cancelled
43 → 61; 10 → 12 once the deadline passed unpaid. Every status is notified (● in §3.1).
"""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never


class CvsStatus(StrEnum):
    APPLIED = "10"  # 申込済
    EXPIRED = "12"  # 支払期限切
    PAID = "40"  # 消込済
    REPORTED = "43"  # 速報検知済
    REPORT_CANCELLED = "61"  # 速報取消済


STATUS_NAMES: dict[CvsStatus, str] = {
    CvsStatus.APPLIED: "申込済",
    CvsStatus.EXPIRED: "支払期限切",
    CvsStatus.PAID: "消込済",
    CvsStatus.REPORTED: "速報検知済",
    CvsStatus.REPORT_CANCELLED: "速報取消済",
}


class CvsOperation(StrEnum):
    PAY = "pay"  # paid at the till, final at once
    REPORT = "report"  # preliminary report (7-Eleven, FamilyMart)
    CONFIRM = "confirm"  # the chain confirms the preliminary report
    CANCEL_REPORT = "cancel_report"  # the chain withdraws it
    EXPIRE = "expire"


TRANSITIONS: dict[tuple[CvsStatus, CvsOperation], CvsStatus] = {
    (CvsStatus.APPLIED, CvsOperation.PAY): CvsStatus.PAID,
    (CvsStatus.APPLIED, CvsOperation.REPORT): CvsStatus.REPORTED,
    (CvsStatus.REPORTED, CvsOperation.CONFIRM): CvsStatus.PAID,
    (CvsStatus.REPORTED, CvsOperation.CANCEL_REPORT): CvsStatus.REPORT_CANCELLED,
    (CvsStatus.APPLIED, CvsOperation.EXPIRE): CvsStatus.EXPIRED,
}


def notifies_merchant(status: CvsStatus) -> bool:
    match status:
        case (
            CvsStatus.APPLIED
            | CvsStatus.EXPIRED
            | CvsStatus.PAID
            | CvsStatus.REPORTED
            | CvsStatus.REPORT_CANCELLED
        ):
            return True
        case _:
            assert_never(status)


def holds_money(status: CvsStatus) -> bool:
    """The buyer's money is the merchant's (a sale in the ledger): paid (消込済). A preliminary
    report (速報, 43) is not money yet — the chain may withdraw it (61); its confirmation is."""
    match status:
        case CvsStatus.PAID:
            return True
        case (
            CvsStatus.APPLIED | CvsStatus.EXPIRED | CvsStatus.REPORTED | CvsStatus.REPORT_CANCELLED
        ):
            return False
        case _:
            assert_never(status)
