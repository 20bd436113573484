"""The chart of accounts (勘定科目), named by codes rather than rows.

Per merchant M (`merchant:M:…`):
  receivable:T:I   売掛金 — what institution I of method T owes Kessai for M's sales (debit side)
  payable          未払金 — what Kessai owes M: sales in, fees, tax and payouts out (credit side)
  fees             手数料 — Kessai's fee income from M (credit side)
  tax              仮受消費税 — consumption tax on those fees (credit side)
  payout           未払振込 — payouts closed on a statement, awaiting the bank transfer (credit side)
Kessai's own (`kessai:…`):
  bank             普通預金 — Kessai's bank account: institutions' remittances in, payouts out

An account is a code, not a row: a capture posts without looking an account up (no round trip),
and every code parses back (`parse`), which `ledger check` proves for every entry. The receivable
is one account per merchant and institution, so both "what does acquirer X owe" and "what is owed
for merchant M" are sums over codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class AccountKind(StrEnum):
    RECEIVABLE = "receivable"
    PAYABLE = "payable"
    FEES = "fees"
    TAX = "tax"
    PAYOUT = "payout"
    BANK = "bank"


MERCHANT_KINDS = frozenset(
    {
        AccountKind.RECEIVABLE,
        AccountKind.PAYABLE,
        AccountKind.FEES,
        AccountKind.TAX,
        AccountKind.PAYOUT,
    }
)
NO_INSTITUTION = "-"
_CODE = re.compile(
    r"^(?:merchant:(?P<m>[0-9]{1,9}):(?P<kind>[a-z]+)(?::(?P<t>[0-9]{2}):(?P<i>[^:]{1,16}))?"
    r"|kessai:(?P<own>[a-z]+))"
)


@dataclass(frozen=True, slots=True)
class Account:
    kind: AccountKind
    merchant_id: int | None = None
    payment_type: str = ""
    institution: str = ""

    @property
    def code(self) -> str:
        if self.merchant_id is None:
            return f"kessai:{self.kind.value}"
        if self.kind is AccountKind.RECEIVABLE:
            return f"merchant:{self.merchant_id}:receivable:{self.payment_type}:{self.institution}"
        return f"merchant:{self.merchant_id}:{self.kind.value}"


def receivable(merchant_id: int, payment_type: str, institution: str) -> str:
    """売掛金: institution `institution` of method `payment_type`, for `merchant_id`'s sales."""
    inst = institution or NO_INSTITUTION
    return Account(AccountKind.RECEIVABLE, merchant_id, payment_type, inst).code


def payable(merchant_id: int) -> str:
    return Account(AccountKind.PAYABLE, merchant_id).code


def fees(merchant_id: int) -> str:
    return Account(AccountKind.FEES, merchant_id).code


def tax(merchant_id: int) -> str:
    return Account(AccountKind.TAX, merchant_id).code


def payout(merchant_id: int) -> str:
    return Account(AccountKind.PAYOUT, merchant_id).code


BANK = Account(AccountKind.BANK).code


def parse(code: str) -> Account | None:
    """The account a code names; None for anything that is not a well-formed code."""
    found = _CODE.fullmatch(code)
    if found is None:
        return None
    if found["own"] is not None:
        return Account(AccountKind.BANK) if found["own"] == AccountKind.BANK else None
    try:
        kind = AccountKind(found["kind"])
    except ValueError:
        return None
    has_institution = found["t"] is not None
    if kind not in MERCHANT_KINDS or has_institution != (kind is AccountKind.RECEIVABLE):
        return None
    return Account(kind, int(found["m"]), found["t"] or "", found["i"] or "")
