"""The sandbox's banks for bank net payments (銀行ネット決済), in-process.

The bank list is the real one: names come from the `zengin-code` package (the 全銀 bank code
list), narrowed to the banks PAYGENT's sandbox offers for bank net (paygent-protocol.md §4). The
buyer's answer at the bank (pay or refuse) comes from the simulated bank page Kessai serves.
"""

from __future__ import annotations

import secrets
import threading
import unicodedata
from dataclasses import dataclass

from zengin_code import Bank  # type: ignore[import-untyped]

from kessai.connectors.base import ConnectorResult, NetBank, Outcome

# §4 "ATM / bank net codes usable in sandbox", the 全銀 ones.
SANDBOX_BANK_CODES = ("0001", "0005", "0010", "0017", "9900")

# §4's direct-connection codes (D…) are not 全銀 codes, so zengin-code does not list them, and the
# spec names none of them. Kessai's reading: Dnnn is the direct connection of the bank 0nnn (the
# §1.5 list D009/D033/D034/D036/D038/D039 is 三井住友, PayPay, セブン, 楽天, 住信SBI (now
# ドコモSMTB) and auじぶん, the banks known for direct net payments), so each is named after
# zengin-code's entry for that bank. D008 has no such bank and is named by its code alone.
# This table holds the D-codes only; every name still comes from zengin-code.
DIRECT_BANKS: dict[str, str | None] = {
    "D005": "0005",
    "D008": None,
    "D009": "0009",
    "D033": "0033",
    "D034": "0034",
    "D036": "0036",
    "D038": "0038",
    "D039": "0039",
}

_KINDS = ("銀行", "金庫", "信金", "信組", "組合", "労金", "農協", "漁協", "信連", "中金")
REFUSED_DETAIL = "残高不足"  # what the sandbox bank answers when the buyer's payment fails


def zengin_name(code: str) -> str:
    """The bank's name as buyers know it: zengin-code's short name, full-width letters made
    half-width, and 銀行 added where the short name leaves it off (みずほ → みずほ銀行)."""
    name = unicodedata.normalize("NFKC", Bank.all[code].name)
    return name if name.endswith(_KINDS) else f"{name}銀行"


def sandbox_banks() -> tuple[NetBank, ...]:
    """The banks of §4: the 全銀 ones, then the direct connections."""
    banks = [NetBank(code, zengin_name(code)) for code in SANDBOX_BANK_CODES]
    for code, zengin in DIRECT_BANKS.items():
        name = f"{zengin_name(zengin)}（ダイレクト）" if zengin else f"ダイレクト接続銀行（{code}）"
        banks.append(NetBank(code, name, direct=True))
    return tuple(banks)


@dataclass
class _Opened:
    amount: int | None
    paid: ConnectorResult | None = None


class SandboxBankNet:
    name = "sandbox-banknet"

    def __init__(self) -> None:
        self._banks = sandbox_banks()
        self._codes = frozenset(bank.code for bank in self._banks)
        self._opened: dict[str, _Opened] = {}
        self._by_key: dict[str, str] = {}
        self._lock = threading.Lock()

    def banks(self) -> tuple[NetBank, ...]:
        return self._banks

    def open(self, *, idempotency_key: str, bank_code: str, amount: int) -> str:
        if bank_code not in self._codes or amount <= 0:
            raise ValueError("an unknown bank or a non-positive amount")
        with self._lock:
            reference = self._by_key.get(idempotency_key)
            if reference is None:
                reference = "".join(secrets.choice("0123456789") for _ in range(16))
                self._by_key[idempotency_key] = reference
                self._opened[reference] = _Opened(amount)
            return reference

    def complete(self, *, reference: str, approve: bool) -> ConnectorResult:
        """The money moves once: a paid reference answers its payment again. A refusal is not
        kept, so the buyer may try again (more money in the account)."""
        with self._lock:
            # A reference opened before the process restarted is still answered (the sandbox
            # bank keeps nothing on disk), without the amount echo it no longer knows.
            opened = self._opened.setdefault(reference, _Opened(amount=None))
            if opened.paid is not None:
                return opened.paid
            if not approve:
                return ConnectorResult(Outcome.DECLINED, reference, response_detail=REFUSED_DETAIL)
            opened.paid = ConnectorResult(Outcome.SUCCEEDED, reference, amount=opened.amount)
            return opened.paid
