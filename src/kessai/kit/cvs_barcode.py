"""The convenience-store payment barcode (コンビニ収納用バーコード): 44 digits in GS1-128.

Every chain's till reads the same symbol, which is why one paper slip (払込票) is good at any chain
that takes the collection agency's slips. The layout is GS1 Japan's "GS1-128 による標準料金代理収納
ガイドライン" (positions 1-based):

| pos   | n  | field                                             | what Kessai puts there              |
| ----- | -- | ------------------------------------------------- | ----------------------------------- |
| 1–2   | 2  | AI `91` (the guideline's free-use AI)             | `91`                                |
| 3–8   | 6  | 収納企業コード: the JAN company prefix without    | the agency's code for Kessai        |
|       |    | its leading 4 (older 5-digit codes: `9` + code)   | (sandbox `999999`)                  |
| 9–29  | 21 | 自由使用欄 (free-use field), right-padded with 0  | the slip's number (払込票番号)      |
| 30    | 1  | 再発行区分: how many times the slip was reissued  | `0`                                 |
| 31–36 | 6  | 支払期限日 `YYMMDD`: the last day a till takes it | the payment's deadline (JST)        |
| 37    | 1  | 印紙フラグ: `1` = the receipt needs a revenue     | amount less stated tax ≥ 50,000 yen |
|       |    | stamp (収入印紙), `0` = it does not               |                                     |
| 38–43 | 6  | 支払金額 in yen                                   | the amount                          |
| 44    | 1  | check digit over digits 1–43: modulus 10, weights | `check_digit`                       |
|       |    | 3 and 1 alternating from the rightmost data digit |                                     |

The symbol is Code 128 with FNC1 right after the start character (that FNC1 is what makes it GS1-128;
a scanner reports it as symbology `]C1`), the 44 digits in code set C. Under the bars the digits are
printed in two lines (`human_readable`). The symbol must fit the tills' 60 mm scanners: at a module of
0.19 mm the 288 modules plus two 10-module quiet zones take 58.5 mm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

AI = "91"
LENGTH = 44
FREE_FIELD_DIGITS = 21
MAX_AMOUNT = 999_999  # six digits
STAMP_THRESHOLD = 50_000  # 印紙税: receipts of 50,000 yen or more (tax stated apart excluded)


def check_digit(digits: str) -> str:
    """Modulus 10, weights 3/1: the rightmost digit weighs 3, the next 1, and so on leftwards."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("a check digit is computed over digits only")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def needs_stamp(amount: int, stated_tax: int = 0) -> bool:
    """Whether the till must put a revenue stamp on the receipt (印紙フラグ): the amount without
    the consumption tax the slip states (内税 or 外税 alike) reaches 50,000 yen."""
    return amount - stated_tax >= STAMP_THRESHOLD


@dataclass(frozen=True, slots=True)
class SlipCode:
    """The fields of one barcode (see the module's table)."""

    company_code: str  # 収納企業コード, 6 digits
    free_field: str  # ≤ 21 digits; padded on the right with 0
    deadline: date  # 支払期限日
    amount: int  # yen, 1–999,999
    stamp: bool = False  # 印紙フラグ
    reissue: int = 0  # 再発行区分, 0–9

    def digits(self) -> str:
        """The 44 digits, check digit included. ValueError when a field does not fit."""
        _require(len(self.company_code) == 6 and self.company_code.isdigit(), "company_code")
        field = self.free_field.ljust(FREE_FIELD_DIGITS, "0")
        _require(len(field) == FREE_FIELD_DIGITS and field.isdigit(), "free_field")
        _require(0 <= self.reissue <= 9, "reissue")
        _require(0 < self.amount <= MAX_AMOUNT, "amount")
        body = (
            f"{AI}{self.company_code}{field}{self.reissue}"
            f"{self.deadline:%y%m%d}{int(self.stamp)}{self.amount:06d}"
        )
        return body + check_digit(body)


def parse(code: str) -> SlipCode:
    """The fields of a 44-digit code; ValueError for a wrong length, AI, date or check digit."""
    _require(len(code) == LENGTH and code.isascii() and code.isdigit(), "length")
    _require(code.startswith(AI), "AI")
    _require(check_digit(code[:-1]) == code[-1], "check digit")
    yymmdd = code[30:36]
    return SlipCode(
        company_code=code[2:8],
        free_field=code[8:29],
        reissue=int(code[29]),
        deadline=date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])),
        stamp=code[36] == "1",
        amount=int(code[37:43]),
    )


def human_readable(code: str) -> tuple[str, str]:
    """The digits printed under the bars, in the guideline's two lines: AI, company code and
    free-use field; then reissue, deadline, stamp flag, amount and check digit."""
    return (
        f"({code[:2]}){code[2:8]}-{code[8:29]}",
        f"{code[29]}-{code[30:36]}-{code[36]}-{code[37:43]}-{code[43]}",
    )


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(f"convenience-store barcode: bad {what}")
