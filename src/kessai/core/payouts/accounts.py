"""A merchant's bank account for payouts (振込先口座), as typed and as a transfer file needs it.

The operator types an account as ``BANK-BRANCH-TYPE-NUMBER`` (``0001-001-1-1234567``): the bank
code (4 digits) and branch code (3 digits) of the Zengin directory, the account type as the Zengin
code (1 普通, 2 当座, 4 貯蓄) and the 7-digit account number. The holder's name (口座名義) is kept in
the Zengin character set, at most 30 characters (the 受取人名 field of the transfer file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kessai.kit.banks import find_branch
from kessai.kit.errors import InvalidRequest
from kessai.kit.zengin_chars import to_zengin

ACCOUNT_TYPES = {"1": "普通", "2": "当座", "4": "貯蓄"}
HOLDER_MAX = 30  # bytes (= half-width characters) of the transfer file's 受取人名
_ACCOUNT = re.compile(r"([0-9]{4})-([0-9]{3})-([0-9])-([0-9]{7})", re.ASCII)


@dataclass(frozen=True, slots=True)
class BankAccount:
    """An account a payout is transferred to, with the bank's and branch's names for the file."""

    bank_code: str
    bank_name: str  # half-width katakana, as the Zengin directory has it
    branch_code: str
    branch_name: str  # half-width katakana
    account_type: str  # "1" 普通, "2" 当座, "4" 貯蓄
    account_number: str  # 7 digits
    holder: str  # half-width katakana (口座名義), at most 30

    def label(self) -> str:
        """``BANK-BRANCH-TYPE-NUMBER``, the form the operator typed."""
        return f"{self.bank_code}-{self.branch_code}-{self.account_type}-{self.account_number}"


def bank_account(text: str, holder: str) -> BankAccount:
    """The account ``BANK-BRANCH-TYPE-NUMBER`` held by `holder`, checked against the Zengin
    directory (InvalidRequest saying what is wrong)."""
    match = _ACCOUNT.fullmatch(text)
    if match is None:
        raise InvalidRequest(
            field="bank_account",
            message=f"bank account {text!r} is not BANK-BRANCH-TYPE-NUMBER "
            "(4, 3, 1 and 7 digits, e.g. 0001-001-1-1234567)",
        )
    bank, branch, kind, number = match.groups()
    if kind not in ACCOUNT_TYPES:
        raise InvalidRequest(
            field="bank_account",
            message=f"account type {kind} is not 1 (普通), 2 (当座) or 4 (貯蓄)",
        )
    try:
        found = find_branch(bank, branch)
    except LookupError as error:
        raise InvalidRequest(field="bank_account", message=str(error)) from None
    return BankAccount(
        bank_code=bank,
        bank_name=found.bank_kana,
        branch_code=branch,
        branch_name=found.branch_kana,
        account_type=kind,
        account_number=number,
        holder=account_holder(holder),
    )


def account_holder(name: str) -> str:
    """The holder's name in the Zengin character set (full-width kana become half-width);
    InvalidRequest naming a character that cannot be sent, or a name too long for the file."""
    try:
        kana = to_zengin(name).strip()
    except ValueError as error:
        raise InvalidRequest(field="account_holder", message=f"account holder: {error}") from None
    if not kana:
        raise InvalidRequest(field="account_holder", message="account holder is empty")
    if len(kana) > HOLDER_MAX:
        raise InvalidRequest(
            field="account_holder",
            message=f"account holder {kana!r} is {len(kana)} characters in half-width kana; "
            f"a transfer carries at most {HOLDER_MAX} (abbreviate, e.g. ｶ) for 株式会社)",
        )
    return kana
