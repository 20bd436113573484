"""The ATM / Pay-easy (ペイジー) state machine (paygent-protocol.md §3.5), as a table.

10 → 40 when the buyer pays at an ATM or online bank; 10 → 12 once the deadline has passed unpaid.
Both are final. A payment is closed per payment, under its row lock: a payment paid before its
deadline is never expired, whatever the order in which the two arrive.
"""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never


class AtmStatus(StrEnum):
    APPLIED = "10"  # 申込済
    EXPIRED = "12"  # 支払期限切
    PAID = "40"  # 消込済


STATUS_NAMES: dict[AtmStatus, str] = {
    AtmStatus.APPLIED: "申込済",
    AtmStatus.EXPIRED: "支払期限切",
    AtmStatus.PAID: "消込済",
}


class AtmOperation(StrEnum):
    PAY = "pay"  # the bank's payment report (消込)
    EXPIRE = "expire"  # the deadline passed unpaid


TRANSITIONS: dict[tuple[AtmStatus, AtmOperation], AtmStatus] = {
    (AtmStatus.APPLIED, AtmOperation.PAY): AtmStatus.PAID,
    (AtmStatus.APPLIED, AtmOperation.EXPIRE): AtmStatus.EXPIRED,
}


def notifies_merchant(status: AtmStatus) -> bool:
    """Statuses delivered by 091 and the push (● in §3.1: 12 and 40)."""
    match status:
        case AtmStatus.EXPIRED | AtmStatus.PAID:
            return True
        case AtmStatus.APPLIED:
            return False
        case _:
            assert_never(status)


def holds_money(status: AtmStatus) -> bool:
    """The buyer's money is the merchant's (a sale in the ledger): paid (消込済)."""
    match status:
        case AtmStatus.PAID:
            return True
        case AtmStatus.APPLIED | AtmStatus.EXPIRED:
            return False
        case _:
            assert_never(status)
