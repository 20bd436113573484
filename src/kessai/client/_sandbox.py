"""`SandboxClient`: the sandbox HTTP API (status-simulation tool and test clock) for a merchant's
own test suite. Sandbox merchants only: the gateway refuses production merchants (S001)."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx


class SandboxError(Exception):
    """The gateway refused a sandbox call: `code` (e.g. ``2004``, ``S001``) and its message."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message} (HTTP {status_code})")
        self.status_code = status_code
        self.code = code
        self.message = message


class SandboxClient:
    """Move sandbox payments as the institutions would, and advance the merchant's test clock.

    Each move returns the gateway's JSON answer (``payment_status`` …) as a dict and raises
    `SandboxError` when refused.
    """

    def __init__(
        self,
        base_url: str,
        *,
        merchant_id: str | int,
        connect_id: str,
        connect_password: str,
        verify: bool | str = True,
        cert: tuple[str, str] | None = None,
        timeout: float = 35.0,
    ) -> None:
        self._http = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/sandbox/merchants/{merchant_id}",
            auth=(connect_id, connect_password),
            verify=verify,
            cert=cert,
            timeout=timeout,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def pay(
        self,
        payment_id: str | int,
        *,
        paid_at: datetime | None = None,
        amount: int | None = None,
        bank_code: str | None = None,
        chain: str | None = None,
    ) -> dict[str, Any]:
        """The buyer pays (ATM, CVS …), as the method's institution reports it."""
        body = _inputs(paid_at, amount, bank_code, chain)
        return self._post(f"/payments/{payment_id}/pay", body)

    def move(
        self,
        payment_id: str | int,
        to: str,
        *,
        paid_at: datetime | None = None,
        amount: int | None = None,
        bank_code: str | None = None,
        chain: str | None = None,
    ) -> dict[str, Any]:
        """Any move of the status-simulation tool for the payment's method (e.g. ``to="61"``)."""
        body = {"to": to, **_inputs(paid_at, amount, bank_code, chain)}
        return self._post(f"/payments/{payment_id}/move", body)

    def clock(self) -> dict[str, Any]:
        """The merchant's test clock: ``now``, ``offset_seconds``."""
        return _answer(self._http.get("/clock"))

    def advance_clock(self, *, days: int = 0, hours: int = 0) -> dict[str, Any]:
        """Move the test clock forward; unpaid payments whose deadline it passes expire."""
        return self._post("/clock/advance", {"days": days, "hours": hours})

    def transfer(
        self,
        *,
        amount: int,
        account: str | None = None,
        payer: str | None = None,
        paid_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A bank transfer of `amount` yen to a virtual account (``BANK-BRANCH-NUMBER``; default a
        free one of the pool), whatever is claimed on it: it clears an open claim, or becomes a
        payment of its own (40, clear_detail 05)."""
        body = {"amount": amount, "account": account, "payer": payer}
        body |= _inputs(paid_at, None, None, None)
        return self._post("/transfers", {k: v for k, v in body.items() if v is not None})

    def slip_payment(
        self,
        *,
        amount: int,
        chain: str | None = None,
        paid_at: datetime | None = None,
        free_field: str | None = None,
    ) -> dict[str, Any]:
        """A payment slip paid at a till without any application: a new payment in 43."""
        body = {"amount": amount, "free_field": free_field} | _inputs(paid_at, None, None, chain)
        return self._post("/slip-payments", {k: v for k, v in body.items() if v is not None})

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return _answer(self._http.post(path, json=body))


def _inputs(
    paid_at: datetime | None, amount: int | None, bank_code: str | None, chain: str | None
) -> dict[str, Any]:
    values = {
        "paid_at": paid_at.isoformat() if paid_at else None,
        "amount": amount,
        "bank_code": bank_code,
        "chain": chain,
    }
    return {name: value for name, value in values.items() if value is not None}


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise SandboxError(
            response.status_code, str(error.get("code", "")), str(error.get("message", ""))
        )
    if not isinstance(body, dict):
        raise SandboxError(response.status_code, "", "the answer is not a JSON object")
    return body
