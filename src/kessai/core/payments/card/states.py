"""The card state machine (paygent-protocol.md §3.2), as a table.

`TRANSITIONS[(status, operation)]` says which connector call an operation makes and where each
outcome leads. `REPEATS` are completed operations asked again: they answer success and change nothing.
`EXPIRED` answer 2007. Every other (status, operation) pair is refused with 2004 and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import assert_never


class CardStatus(StrEnum):
    APPLIED = "10"  # 申込済
    AUTH_NG = "11"  # オーソリNG
    VALIDITY_NG = "17"  # 有効性確認NG
    AUTHORIZED = "20"  # オーソリOK
    VALIDITY_CHECKED = "22"  # 有効性確認済
    CAPTURE_REQUESTED = "30"  # 売上要求中
    VOIDED = "32"  # オーソリ取消済
    AUTH_EXPIRED = "33"  # オーソリ期限切
    CAPTURED = "40"  # 消込済
    CAPTURED_CLOSED = "41"  # 消込済（売上取消期限切）
    CANCELLED = "60"  # 売上取消済


STATUS_NAMES: dict[CardStatus, str] = {
    CardStatus.APPLIED: "申込済",
    CardStatus.AUTH_NG: "オーソリNG",
    CardStatus.VALIDITY_NG: "有効性確認NG",
    CardStatus.AUTHORIZED: "オーソリOK",
    CardStatus.VALIDITY_CHECKED: "有効性確認済",
    CardStatus.CAPTURE_REQUESTED: "売上要求中",
    CardStatus.VOIDED: "オーソリ取消済",
    CardStatus.AUTH_EXPIRED: "オーソリ期限切",
    CardStatus.CAPTURED: "消込済",
    CardStatus.CAPTURED_CLOSED: "消込済（売上取消期限切）",
    CardStatus.CANCELLED: "売上取消済",
}


class CardOperation(StrEnum):
    AUTHORIZE = "authorize"  # 020
    AUTHORIZE_CAPTURE = "authorize_capture"  # 020 sales_mode=1
    VALIDITY_CHECK = "validity_check"  # 025 valid_check_flg=1
    CAPTURE = "capture"  # 022
    VOID = "void"  # 021
    REFUND = "refund"  # 023
    EXPIRE_AUTH = "expire_auth"  # 60 days after authorisation (scheduled, no connector call)
    CLOSE_CANCEL_WINDOW = "close_cancel_window"  # 60 days after authorisation/capture


class Call(StrEnum):
    """The connector call an operation makes (NONE: decided by time alone)."""

    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Rule:
    call: Call
    on_success: CardStatus
    on_decline: CardStatus


S = CardStatus
Op = CardOperation

TRANSITIONS: dict[tuple[CardStatus, CardOperation], Rule] = {
    (S.APPLIED, Op.AUTHORIZE): Rule(Call.AUTHORIZE, S.AUTHORIZED, S.AUTH_NG),
    (S.APPLIED, Op.AUTHORIZE_CAPTURE): Rule(Call.AUTHORIZE, S.CAPTURED, S.AUTH_NG),
    (S.APPLIED, Op.VALIDITY_CHECK): Rule(Call.AUTHORIZE, S.VALIDITY_CHECKED, S.VALIDITY_NG),
    (S.AUTHORIZED, Op.CAPTURE): Rule(Call.CAPTURE, S.CAPTURED, S.CAPTURE_REQUESTED),
    (S.CAPTURE_REQUESTED, Op.CAPTURE): Rule(Call.CAPTURE, S.CAPTURED, S.CAPTURE_REQUESTED),
    # A refused void or refund leaves the payment where it was (the merchant re-sends).
    (S.AUTHORIZED, Op.VOID): Rule(Call.VOID, S.VOIDED, S.AUTHORIZED),
    (S.CAPTURED, Op.REFUND): Rule(Call.REFUND, S.CANCELLED, S.CAPTURED),
    (S.AUTHORIZED, Op.EXPIRE_AUTH): Rule(Call.NONE, S.AUTH_EXPIRED, S.AUTH_EXPIRED),
    (S.CAPTURED, Op.CLOSE_CANCEL_WINDOW): Rule(Call.NONE, S.CAPTURED_CLOSED, S.CAPTURED_CLOSED),
}

# A completed operation asked again: result 0, nothing changes (§3.2).
REPEATS: frozenset[tuple[CardStatus, CardOperation]] = frozenset(
    {
        (S.CAPTURED, Op.CAPTURE),
        (S.CAPTURED_CLOSED, Op.CAPTURE),
        (S.VOIDED, Op.VOID),
        (S.CANCELLED, Op.REFUND),
        # After authorisation expiry a void still answers result 0 (§3.2).
        (S.AUTH_EXPIRED, Op.VOID),
    }
)

# Too late: 2007.
EXPIRED: frozenset[tuple[CardStatus, CardOperation]] = frozenset(
    {(S.AUTH_EXPIRED, Op.CAPTURE), (S.CAPTURED_CLOSED, Op.REFUND)}
)

AUTH_LIFETIME = timedelta(days=60)  # 20 → 33
CANCEL_WINDOW = timedelta(days=60)  # 40 → 41


class Verdict(StrEnum):
    APPLY = "apply"
    REPEAT = "repeat"
    EXPIRED = "expired"
    REFUSED = "refused"


def judge(status: CardStatus, operation: CardOperation) -> Verdict:
    """What the table says about `operation` on a payment in `status`."""
    key = (status, operation)
    if key in TRANSITIONS:
        return Verdict.APPLY
    if key in REPEATS:
        return Verdict.REPEAT
    if key in EXPIRED:
        return Verdict.EXPIRED
    return Verdict.REFUSED


def is_terminal(status: CardStatus) -> bool:
    """No operation can change this status any more."""
    match status:
        case S.AUTH_NG | S.VALIDITY_NG | S.VALIDITY_CHECKED | S.VOIDED | S.CANCELLED:
            return True
        case S.AUTH_EXPIRED | S.CAPTURED_CLOSED:
            return True
        case S.APPLIED | S.AUTHORIZED | S.CAPTURE_REQUESTED | S.CAPTURED:
            return False
        case _:
            assert_never(status)


def is_captured(status: CardStatus) -> bool:
    """Money has been taken from the buyer (and not given back)."""
    match status:
        case S.CAPTURED | S.CAPTURED_CLOSED:
            return True
        case (
            S.APPLIED
            | S.AUTH_NG
            | S.VALIDITY_NG
            | S.AUTHORIZED
            | S.VALIDITY_CHECKED
            | S.CAPTURE_REQUESTED
            | S.VOIDED
            | S.AUTH_EXPIRED
            | S.CANCELLED
        ):
            return False
        case _:
            assert_never(status)


def notifies_merchant(status: CardStatus) -> bool:
    """Statuses delivered by 091 and the push (● in §3.1)."""
    match status:
        case (
            S.APPLIED
            | S.AUTH_NG
            | S.AUTHORIZED
            | S.VOIDED
            | S.AUTH_EXPIRED
            | S.CAPTURED
            | S.CAPTURED_CLOSED
            | S.CANCELLED
            | S.VALIDITY_NG
            | S.VALIDITY_CHECKED
        ):
            return True
        case S.CAPTURE_REQUESTED:
            return False
        case _:
            assert_never(status)
