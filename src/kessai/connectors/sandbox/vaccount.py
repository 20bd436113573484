"""The sandbox's receiving bank for virtual accounts (仮想口座): account numbers in the real format
at a real bank's real branches, names as the Zengin bank list spells them (`zengin-code`).

Transfers to these accounts are made with the status-simulation tool (`kessai sandbox pay` /
`kessai sandbox transfer`), which hands them to the core as the bank's reports.
"""

from __future__ import annotations

import secrets
import threading
from functools import cache

from kessai.connectors.base import VirtualAccountNumber

SANDBOX_BANK_CODE = "0033"  # PayPay銀行, a bank that offers virtual accounts to businesses
# Branches numbered for virtual accounts (the 8xx branches, named after constellations).
SANDBOX_BRANCH_CODES = ("801", "802", "803", "806", "807", "808", "809", "811", "812", "813")
ORDINARY = "1"  # 普通預金


@cache
def names(bank_code: str, branch_code: str) -> tuple[str, str]:
    """The bank's and the branch's names in the Zengin list; KeyError for an unknown code."""
    import zengin_code  # type: ignore[import-untyped]  # loads the whole list: only when needed

    bank = zengin_code.Bank.all[bank_code]
    return str(bank.name), str(bank.branches[branch_code].name)


class SandboxVirtualAccountBank:
    name = "sandbox-bank"

    def __init__(self, bank_code: str = SANDBOX_BANK_CODE) -> None:
        self._bank_code = bank_code
        self._opened: dict[str, list[VirtualAccountNumber]] = {}
        self._lock = threading.Lock()

    def open_accounts(self, *, idempotency_key: str, count: int) -> list[VirtualAccountNumber]:
        if count <= 0:
            raise ValueError("count must be positive")
        with self._lock:
            opened = self._opened.get(idempotency_key)
            if opened is None:
                opened = self._opened[idempotency_key] = [self._new() for _ in range(count)]
            return opened

    def _new(self) -> VirtualAccountNumber:
        branch_code = secrets.choice(SANDBOX_BRANCH_CODES)
        bank_name, branch_name = names(self._bank_code, branch_code)
        return VirtualAccountNumber(
            bank_code=self._bank_code,
            bank_name=bank_name,
            branch_code=branch_code,
            branch_name=branch_name,
            deposit_kind=ORDINARY,
            number=f"{secrets.randbelow(9_000_000) + 1_000_000}",
        )
