"""The sandbox's convenience-store chains: numbers in each chain's real format, issued in-process."""

from __future__ import annotations

import secrets
import threading

from kessai.connectors.base import CvsReceipt
from kessai.kit.errors import Declined

LAWSON_CONF_NUMBER = "400008"  # Lawson / Ministop's fixed confirmation number (paygent §1.5 030)
# PAYGENT's CVS stub (§4): for CVS type 02 (Lawson, Ministop, Daily Yamazaki) this telephone number
# makes the vendor refuse the application.
REFUSED_TEL = "99999999999"
TYPE_02_CHAINS = frozenset({"00C002", "00C004", "00C014"})
TYPE_02_VENDOR_ERROR = "3002"


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def _number_for(company_id: str) -> CvsReceipt:
    if company_id == "00C001":  # 7-Eleven: 13-digit 払込票番号
        return CvsReceipt(_digits(13))
    if company_id in ("00C005", "00C006"):  # FamilyMart / Circle K Sunkus: 企業コード-注文番号
        return CvsReceipt(f"{_digits(5)}-{_digits(12)}")
    if company_id in ("00C002", "00C004"):  # Lawson / Ministop (Loppi): お客様番号 + 確認番号
        return CvsReceipt(_digits(11), LAWSON_CONF_NUMBER)
    if company_id == "00C016":  # Seicomart: 受付番号
        return CvsReceipt(_digits(6))
    return CvsReceipt(_digits(11))  # Daily Yamazaki: オンライン決済番号


class SandboxCvs:
    name = "sandbox-cvs"

    def __init__(self) -> None:
        self._issued: dict[str, CvsReceipt] = {}
        self._lock = threading.Lock()

    def issue(
        self, *, idempotency_key: str, company_id: str, amount: int, customer_tel: str
    ) -> CvsReceipt:
        if amount < 0:
            raise ValueError("amount must not be negative")
        if company_id in TYPE_02_CHAINS and customer_tel == REFUSED_TEL:
            raise Declined(TYPE_02_VENDOR_ERROR)
        with self._lock:
            receipt = self._issued.get(idempotency_key)
            if receipt is None:
                receipt = self._issued[idempotency_key] = _number_for(company_id)
            return receipt
