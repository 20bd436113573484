"""The sandbox's collection agency for paper payment slips (払込票): slip numbers issued in-process.

The sandbox pays them through `kessai sandbox pay` (PAYGENT's status-simulation tool, §4).
"""

from __future__ import annotations

import secrets
import threading

from kessai.connectors.base import SlipNumber

# A 収納企業コード no real company holds here: slips printed in the sandbox are never scanned.
SANDBOX_COMPANY_CODE = "999999"
# Every chain of Kessai's CVS list takes the slips (7-Eleven, Lawson, Ministop, FamilyMart,
# Circle K Sunkus, Daily Yamazaki, Seicomart).
SANDBOX_CHAINS = ("00C001", "00C002", "00C004", "00C005", "00C006", "00C014", "00C016")
SLIP_NUMBER_DIGITS = 21


class SandboxSlipAgency:
    name = "sandbox-slip"

    def __init__(self) -> None:
        self._issued: dict[str, SlipNumber] = {}
        self._lock = threading.Lock()

    def issue(self, *, idempotency_key: str, amount: int) -> SlipNumber:
        if amount <= 0:
            raise ValueError("amount must be positive")
        with self._lock:
            number = self._issued.get(idempotency_key)
            if number is None:
                digits = "".join(secrets.choice("0123456789") for _ in range(SLIP_NUMBER_DIGITS))
                number = SlipNumber(SANDBOX_COMPANY_CODE, digits, SANDBOX_CHAINS)
                self._issued[idempotency_key] = number
            return number
