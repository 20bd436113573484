"""The bank net (銀行ネット決済) state machine (paygent-protocol.md §3.6), as a table.

A payment exists from the moment the buyer picks a bank on the selection page (10). 10 → 40 on the
bank's completion notice; 10 → 15 (申込中断) once two bank business days have passed without it;
rarely 15 → 40 when the bank's notice comes late. The buyer refusing or abandoning at the bank moves
nothing: the payment stays 10 (the buyer may still pay) until the deadline makes it 15. Notified
(● in §3.1): 15 and 40.
"""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never


class BankNetStatus(StrEnum):
    APPLIED = "10"  # 申込済
    ABANDONED = "15"  # 申込中断
    PAID = "40"  # 消込済


STATUS_NAMES: dict[BankNetStatus, str] = {
    BankNetStatus.APPLIED: "申込済",
    BankNetStatus.ABANDONED: "申込中断",
    BankNetStatus.PAID: "消込済",
}


class BankNetOperation(StrEnum):
    PAY = "pay"  # the bank's completion notice (消込)
    EXPIRE = "expire"  # two bank business days passed unpaid
    PAY_LATE = "pay_late"  # a completion notice after the payment was closed
    REFUSE = "refuse"  # the bank refused the buyer's payment (nothing moves)
    ABANDON = "abandon"  # the buyer left the bank's page (nothing moves)


TRANSITIONS: dict[tuple[BankNetStatus, BankNetOperation], BankNetStatus] = {
    (BankNetStatus.APPLIED, BankNetOperation.PAY): BankNetStatus.PAID,
    (BankNetStatus.APPLIED, BankNetOperation.EXPIRE): BankNetStatus.ABANDONED,
    (BankNetStatus.ABANDONED, BankNetOperation.PAY_LATE): BankNetStatus.PAID,
    (BankNetStatus.APPLIED, BankNetOperation.REFUSE): BankNetStatus.APPLIED,
    (BankNetStatus.APPLIED, BankNetOperation.ABANDON): BankNetStatus.APPLIED,
}


def notifies_merchant(status: BankNetStatus) -> bool:
    """Statuses delivered by 091 and the push (● in §3.1: 15 and 40)."""
    match status:
        case BankNetStatus.ABANDONED | BankNetStatus.PAID:
            return True
        case BankNetStatus.APPLIED:
            return False
        case _:
            assert_never(status)


def holds_money(status: BankNetStatus) -> bool:
    """The buyer's money is the merchant's (a sale in the ledger): paid (消込済)."""
    match status:
        case BankNetStatus.PAID:
            return True
        case BankNetStatus.APPLIED | BankNetStatus.ABANDONED:
            return False
        case _:
            assert_never(status)
