"""The bank-transfer virtual account (銀行振込仮想口座) state machine (paygent-protocol.md §3.7), as a
table, and how a transfer is classified against its claim (`clear_detail`).

10 → 40 when a transfer to the claim's account arrives; 10 → 12 once the deadline (+2 bank business
days) has passed; 12 → 40 when a late transfer arrives within the contractual grace; 10/12 → 16 after
deadline + grace (no longer cleared automatically: the account goes back to the pool); 16 → 40 only
by hand (clear_detail 06–08). 12, 16 and 40 are notified (● in §3.1).
"""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never


class VaStatus(StrEnum):
    APPLIED = "10"  # 申込済
    EXPIRED = "12"  # 支払期限切
    CLOSED = "16"  # 支払期限切（消込対象外）
    PAID = "40"  # 消込済


STATUS_NAMES: dict[VaStatus, str] = {
    VaStatus.APPLIED: "申込済",
    VaStatus.EXPIRED: "支払期限切",
    VaStatus.CLOSED: "支払期限切（消込対象外）",
    VaStatus.PAID: "消込済",
}

# Statuses whose claim still holds its account: a transfer to the account clears it.
OPEN = (VaStatus.APPLIED, VaStatus.EXPIRED)


class VaOperation(StrEnum):
    TRANSFER = "transfer"  # the bank reports a transfer to the claim's account (消込)
    EXPIRE = "expire"  # deadline + 2 business days passed unpaid
    CLOSE = "close"  # deadline + grace passed: out of automatic clearing
    CLEAR_MANUALLY = "clear_manually"  # an operator clears a closed claim (06–08)


TRANSITIONS: dict[tuple[VaStatus, VaOperation], VaStatus] = {
    (VaStatus.APPLIED, VaOperation.TRANSFER): VaStatus.PAID,
    (VaStatus.EXPIRED, VaOperation.TRANSFER): VaStatus.PAID,  # late, within the grace
    (VaStatus.APPLIED, VaOperation.EXPIRE): VaStatus.EXPIRED,
    (VaStatus.APPLIED, VaOperation.CLOSE): VaStatus.CLOSED,
    (VaStatus.EXPIRED, VaOperation.CLOSE): VaStatus.CLOSED,
    (VaStatus.CLOSED, VaOperation.CLEAR_MANUALLY): VaStatus.PAID,
}


class ClearDetail(StrEnum):
    """`clear_detail` (消込詳細) of a cleared payment (§3.7)."""

    EXACT = "01"  # 過不足なし
    SHORT_ADJUSTED = "02"  # 不足, within the merchant's tolerance: treated as paid in full
    SHORT = "03"  # 不足
    OVER = "04"  # 過剰
    UNCLAIMED = "05"  # no open claim on the account (請求なし)
    MANUAL_EXACT = "06"  # cleared by hand after 16
    MANUAL_SHORT = "07"
    MANUAL_OVER = "08"


def classify(
    claim: int, transferred: int, *, tolerance: int = 0, manual: bool = False
) -> ClearDetail:
    """The clear_detail of `transferred` yen against a claim of `claim` yen. A shortfall of at
    most `tolerance` yen counts as paid in full (02), automatically only (a manual clearing is
    the operator's own judgement: 06–08)."""
    if transferred == claim:
        return ClearDetail.MANUAL_EXACT if manual else ClearDetail.EXACT
    if transferred > claim:
        return ClearDetail.MANUAL_OVER if manual else ClearDetail.OVER
    if manual:
        return ClearDetail.MANUAL_SHORT
    return ClearDetail.SHORT_ADJUSTED if claim - transferred <= tolerance else ClearDetail.SHORT


def notifies_merchant(status: VaStatus) -> bool:
    """Statuses delivered by 091 and the push (● in §3.1: 12, 16 and 40)."""
    match status:
        case VaStatus.EXPIRED | VaStatus.CLOSED | VaStatus.PAID:
            return True
        case VaStatus.APPLIED:
            return False
        case _:
            assert_never(status)


def holds_money(status: VaStatus) -> bool:
    """The buyer's money is the merchant's (a sale in the ledger): cleared (消込済), at the amount
    transferred — an over- or under-payment is booked as received."""
    match status:
        case VaStatus.PAID:
            return True
        case VaStatus.APPLIED | VaStatus.EXPIRED | VaStatus.CLOSED:
            return False
        case _:
            assert_never(status)
