"""The sandbox's Pay-easy collection agency: numbers in the real formats, issued in-process.

The sandbox pays them through `kessai sandbox pay` (PAYGENT's status-simulation tool, §4).
"""

from __future__ import annotations

import secrets
import threading

from kessai.connectors.base import PayEasyNumbers

SANDBOX_PAY_CENTER = "58091"  # a 5-digit 収納機関番号, as real agencies have


class SandboxPayEasy:
    name = "sandbox-payeasy"

    def __init__(self) -> None:
        self._issued: dict[str, PayEasyNumbers] = {}
        self._lock = threading.Lock()

    def issue(self, *, idempotency_key: str, amount: int) -> PayEasyNumbers:
        if amount <= 0:
            raise ValueError("amount must be positive")
        with self._lock:
            numbers = self._issued.get(idempotency_key)
            if numbers is None:
                numbers = PayEasyNumbers(
                    pay_center_number=SANDBOX_PAY_CENTER,
                    customer_number="".join(secrets.choice("0123456789") for _ in range(16)),
                    conf_number="".join(secrets.choice("0123456789") for _ in range(6)),
                )
                self._issued[idempotency_key] = numbers
            return numbers
