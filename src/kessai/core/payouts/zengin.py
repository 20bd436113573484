"""The payout bank file: one Zengin 総合振込 (bulk transfer, 種別コード 21) file per payout date.

Fixed 120-byte records in Shift_JIS (the names are half-width katakana, one byte each), by the
Zengin association's format (全銀協制定フォーマット):

- one header record (データ区分 1): 種別コード 21, コード区分 0 (JIS/Shift_JIS), the operator's
  依頼人コード and 依頼人名, the transfer date (MMDD), the operator's bank, branch and account;
- one data record (データ区分 2) per payout: the merchant's bank and branch (codes and names), account
  type and number, holder (受取人名), amount, and
    * 新規コード ``0`` (その他): Kessai does not track first or changed transfers; banks treat the
      code as information only,
    * 顧客コード1 = the merchant ID (10 digits), so a transfer the bank returns (振込不能) names its
      merchant; 顧客コード2 = zeros; 識別表示 blank (no EDI: not every bank passes EDI on),
    * 振込指定区分 ``7`` (電信扱, paid on the day);
- a trailer record (データ区分 8): count and total of the data records;
- an end record (データ区分 9).

Numbers are right-aligned and zero-filled, text left-aligned and space-filled (cut at the field's
width). Records are separated by CRLF unless `line_breaks=False` (banks accept both; some want the
bare 120-byte stream).

A payout whose account is missing or no longer valid (a bank or branch gone from the directory, a
holder name the file cannot carry), or whose amount is not a positive 10-digit number, is not
written and not dropped: it comes back in `TransferFile.held` with the reason, for the operator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from kessai.config import Settings
from kessai.core.payouts.accounts import ACCOUNT_TYPES, HOLDER_MAX, BankAccount
from kessai.kit.banks import find_branch
from kessai.kit.errors import InvalidRequest
from kessai.kit.zengin_chars import is_zengin

RECORD = 120
MAX_AMOUNT = 9_999_999_999  # 振込金額 is 10 digits
TRANSFER_TYPE = "7"  # 振込指定区分: 電信扱
NEW_CODE = "0"  # 新規コード: その他


@dataclass(frozen=True, slots=True)
class Payout:
    """One merchant's payout to transfer: what a payout statement (支払明細) hands the bank file."""

    merchant_id: int
    amount: int  # yen
    account: BankAccount | None  # None: the merchant has not registered one
    statement_id: str | None = None  # the statement it pays, for the operator's records


@dataclass(frozen=True, slots=True)
class HeldPayout:
    """A payout left out of the file, and why (the operator fixes the account and pays it later)."""

    payout: Payout
    reason: str


@dataclass(frozen=True, slots=True)
class Requester:
    """The operator as the file names it (依頼人): its bank's code, its name, the paying account."""

    code: str  # 依頼人コード, 10 digits
    name: str  # half-width kana, at most 40
    bank_code: str
    bank_name: str  # half-width kana
    branch_code: str
    branch_name: str
    account_type: str  # 1 普通, 2 当座
    account_number: str


@dataclass(frozen=True, slots=True)
class TransferFile:
    """The bank file's bytes, the payouts written into it, and those held back."""

    content: bytes
    transferred: list[Payout] = field(default_factory=list)
    held: list[HeldPayout] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(p.amount for p in self.transferred)


def requester(settings: Settings) -> Requester:
    """The operator's requester details from the settings (KESSAI_PAYOUT_*), the paying branch
    checked against the Zengin directory; InvalidRequest naming what is missing."""
    code, name, account = (
        settings.payout_requester_code,
        settings.payout_requester_name,
        settings.payout_source_account,
    )
    if code is None or name is None or account is None:
        raise InvalidRequest(
            message="the payout bank file needs KESSAI_PAYOUT_REQUESTER_CODE, "
            "KESSAI_PAYOUT_REQUESTER_NAME and KESSAI_PAYOUT_SOURCE_ACCOUNT"
        )
    bank, branch, kind, number = account.split("-")
    try:
        found = find_branch(bank, branch)
    except LookupError as error:
        raise InvalidRequest(message=f"KESSAI_PAYOUT_SOURCE_ACCOUNT: {error}") from None
    return Requester(
        code=code,
        name=name,
        bank_code=bank,
        bank_name=found.bank_kana,
        branch_code=branch,
        branch_name=found.branch_kana,
        account_type=kind,
        account_number=number,
    )


def write_transfer_file(
    payouts: Sequence[Payout],
    *,
    requester: Requester,
    transfer_date: date,
    line_breaks: bool = True,
) -> TransferFile:
    """The 総合振込 file transferring `payouts` on `transfer_date` (a bank business day)."""
    transferred: list[Payout] = []
    held: list[HeldPayout] = []
    for payout in payouts:
        reason = hold_reason(payout)
        if reason is None:
            transferred.append(payout)
        else:
            held.append(HeldPayout(payout, reason))
    records = [
        header_record(requester, transfer_date),
        *(data_record(p) for p in transferred),
        trailer_record(len(transferred), sum(p.amount for p in transferred)),
        end_record(),
    ]
    separator = b"\r\n" if line_breaks else b""
    content = separator.join(records) + separator
    return TransferFile(content=content, transferred=transferred, held=held)


def hold_reason(payout: Payout) -> str | None:
    """Why `payout` cannot go into the file, or None when it can."""
    if not 0 < payout.amount <= MAX_AMOUNT:
        return f"amount {payout.amount} is not 1 to {MAX_AMOUNT} yen"
    account = payout.account
    if account is None:
        return "no bank account registered (kessai merchant update --bank-account)"
    if account.account_type not in ACCOUNT_TYPES or not _digits(account.account_number, 7):
        return f"account {account.label()} is not a valid account type and 7-digit number"
    try:
        find_branch(account.bank_code, account.branch_code)
    except LookupError as error:
        return str(error)
    if not (account.holder and len(account.holder) <= HOLDER_MAX and is_zengin(account.holder)):
        return f"account holder {account.holder!r} cannot be carried by a Zengin transfer"
    return None


def header_record(requester: Requester, transfer_date: date) -> bytes:
    """データ区分 1: who pays, from which account, on which day."""
    return _record(
        "1",
        "21",  # 種別コード: 総合振込
        "0",  # コード区分: JIS (Shift_JIS for the kana)
        _n(requester.code, 10),
        _c(requester.name, 40),
        transfer_date.strftime("%m%d"),
        _n(requester.bank_code, 4),
        _c(requester.bank_name, 15),
        _n(requester.branch_code, 3),
        _c(requester.branch_name, 15),
        _n(requester.account_type, 1),
        _n(requester.account_number, 7),
        _c("", 17),
    )


def data_record(payout: Payout) -> bytes:
    """データ区分 2: one transfer (a payout that `hold_reason` let through)."""
    account = payout.account
    assert account is not None
    return _record(
        "2",
        _n(account.bank_code, 4),
        _c(account.bank_name, 15),
        _n(account.branch_code, 3),
        _c(account.branch_name, 15),
        _n("", 4),  # 手形交換所番号: unused
        _n(account.account_type, 1),
        _n(account.account_number, 7),
        _c(account.holder, 30),
        _n(str(payout.amount), 10),
        NEW_CODE,
        _n(str(payout.merchant_id), 10),  # 顧客コード1
        _n("", 10),  # 顧客コード2
        TRANSFER_TYPE,
        " ",  # 識別表示: no EDI
        _c("", 7),
    )


def trailer_record(count: int, total: int) -> bytes:
    """データ区分 8: how many transfers and their total."""
    return _record("8", _n(str(count), 6), _n(str(total), 12), _c("", 101))


def end_record() -> bytes:
    """データ区分 9."""
    return _record("9", _c("", 119))


def _record(*fields: str) -> bytes:
    record = "".join(fields).encode("cp932")
    if len(record) != RECORD:  # a field wider than its column: a bug here, never a bad input
        raise AssertionError(f"a Zengin record of {len(record)} bytes: {record!r}")
    return record


def _n(value: str, width: int) -> str:
    """A numeric field: right-aligned, zero-filled."""
    if len(value) > width or (value != "" and not _digits(value, len(value))):
        raise AssertionError(f"not a {width}-digit number: {value!r}")
    return value.rjust(width, "0")


def _c(value: str, width: int) -> str:
    """A text field: left-aligned, space-filled, cut at the width (names longer than the field
    are cut by the bank too)."""
    return value[:width].ljust(width, " ")


def _digits(value: str, width: int) -> bool:
    return len(value) == width and value.isascii() and value.isdigit()
