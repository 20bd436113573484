"""The sandbox HTTP API: PAYGENT's status-simulation tool (§4) and the test clock, as JSON.

    POST /sandbox/merchants/{merchant_id}/payments/{payment_id}/pay   {"paid_at", "amount", "bank_code", "chain"}
    POST /sandbox/merchants/{merchant_id}/payments/{payment_id}/move  {"to": "40", …same inputs}
    GET  /sandbox/merchants/{merchant_id}/clock
    POST /sandbox/merchants/{merchant_id}/clock/advance               {"days": N, "hours": N}
    POST /sandbox/merchants/{merchant_id}/transfers       {"amount", "account", "payer", "paid_at"}
    POST /sandbox/merchants/{merchant_id}/slip-payments   {"amount", "chain", "paid_at", "free_field"}

The last two are the tool's actions that are not moves of one payment: a transfer to a virtual
account whatever is claimed on it, and a payment slip paid without any application.

The merchant authenticates as its telegrams do: HTTP Basic with the connect ID as user name and the
connect password, the merchant ID in the path; over TLS also with its own client certificate (403,
P016 without it or with another merchant's: a password alone must not move payments on the port
merchants' modules use). Production merchants are refused (403, S001) by
`testtool` itself, so no face can reach a sandbox control for them. Errors answer
`{"error": {"code", "message"}}` with a status that says what kind of failure it was.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kessai.core.context import Core, MerchantRef
from kessai.core.merchants.auth import Authenticator
from kessai.core.payments import testtool
from kessai.core.payments.vaccount.pool import AccountKey
from kessai.core.payments.views import PaymentView
from kessai.kit.errors import (
    AuthError,
    InvalidRequest,
    InvalidState,
    KessaiError,
    NotFound,
    SandboxOnly,
)
from kessai.tls.server import peer_merchant_id

_STATUS: tuple[tuple[type[KessaiError], int], ...] = (
    (AuthError, 401),
    (SandboxOnly, 403),
    (NotFound, 404),
    (InvalidState, 409),
    (InvalidRequest, 400),
)


@dataclass(frozen=True)
class SandboxApi:
    core: Core
    authenticator: Authenticator
    require_client_cert: bool = False

    def routes(self) -> list[Route]:
        # merchant_id as sent (not `:int`, which would read "0042" as 42): the authenticator
        # accepts only its canonical form.
        base = "/sandbox/merchants/{merchant_id}"
        return [
            Route(f"{base}/payments/{{payment_id:int}}/pay", self.pay, methods=["POST"]),
            Route(f"{base}/payments/{{payment_id:int}}/move", self.move, methods=["POST"]),
            Route(f"{base}/clock", self.clock, methods=["GET"]),
            Route(f"{base}/clock/advance", self.advance, methods=["POST"]),
            Route(f"{base}/transfers", self.transfer, methods=["POST"]),
            Route(f"{base}/slip-payments", self.slip_payment, methods=["POST"]),
        ]

    async def pay(self, request: Request) -> JSONResponse:
        return await self._run(request, self._pay)

    async def move(self, request: Request) -> JSONResponse:
        return await self._run(request, self._move)

    async def clock(self, request: Request) -> JSONResponse:
        return await self._run(request, self._clock)

    async def advance(self, request: Request) -> JSONResponse:
        return await self._run(request, self._advance)

    async def transfer(self, request: Request) -> JSONResponse:
        return await self._run(request, self._transfer)

    async def slip_payment(self, request: Request) -> JSONResponse:
        return await self._run(request, self._slip_payment)

    # ------------------------------------------------------------ the moves (in a worker thread)

    def _pay(self, merchant: MerchantRef, request: Request, body: dict[str, Any]) -> object:
        payment_id = int(request.path_params["payment_id"])
        return _payment(testtool.pay(self.core, merchant, payment_id, _move_input(body)))

    def _move(self, merchant: MerchantRef, request: Request, body: dict[str, Any]) -> object:
        payment_id = int(request.path_params["payment_id"])
        to = body.get("to")
        if not isinstance(to, str) or not to:
            raise InvalidRequest("P005", field="to", message='give the target status: {"to": "40"}')
        view = testtool.move(self.core, merchant, payment_id, to, _move_input(body))
        return _payment(view)

    def _clock(self, merchant: MerchantRef, request: Request, body: dict[str, Any]) -> object:
        return _clock(testtool.clock(self.core, merchant.id))

    def _advance(self, merchant: MerchantRef, request: Request, body: dict[str, Any]) -> object:
        days, hours = _whole(body, "days"), _whole(body, "hours")
        delta = timedelta(days=days, hours=hours)
        view = testtool.advance_clock(self.core, merchant.id, delta)
        self.authenticator.forget(merchant.id)  # this server's telegrams see the new time at once
        return _clock(view)

    def _transfer(self, merchant: MerchantRef, request: Request, body: dict[str, Any]) -> object:
        inp = _move_input(body)
        amount = _required_amount(inp)
        account = body.get("account")
        key = AccountKey.parse(str(account)) if account else None
        inp = replace(inp, payer_name=str(body.get("payer", "")))
        view = testtool.transfer(self.core, merchant.id, key, amount, inp)
        return {
            "transfer_id": view.id,
            "account": view.account,
            "amount": view.amount,
            "outcome": view.outcome,
            "payment_id": view.payment_id,
            "clear_detail": view.clear_detail,
        }

    def _slip_payment(
        self, merchant: MerchantRef, request: Request, body: dict[str, Any]
    ) -> object:
        inp = _move_input(body)
        view = testtool.slip_payment(
            self.core,
            merchant.id,
            amount=_required_amount(inp),
            company_id=inp.company_id,
            paid_at=inp.paid_at,
            free_field=str(body.get("free_field", "")),
        )
        return _payment(view)

    # ------------------------------------------------------------ plumbing

    async def _run(
        self,
        request: Request,
        action: Callable[[MerchantRef, Request, dict[str, Any]], object],
    ) -> JSONResponse:
        try:
            self._check_certificate(request)
            body = await _json_body(request) if request.method == "POST" else {}

            def call() -> object:
                merchant = self._authenticate(request)
                return action(merchant, request, body)

            return JSONResponse(await to_thread.run_sync(call))
        except KessaiError as error:
            status = _status_of(error)
            headers = {"WWW-Authenticate": 'Basic realm="kessai-sandbox"'} if status == 401 else {}
            return JSONResponse(
                {"error": {"code": error.code, "message": error.message}},
                status_code=status,
                headers=headers,
            )

    def _check_certificate(self, request: Request) -> None:
        """Over TLS, the merchant of the path must have connected with its own certificate."""
        peer = peer_merchant_id(request.scope)
        # The path's merchant_id is the text as sent (canonical form is checked with the
        # credentials); a certificate's ID is a number, whose text has no leading zeros.
        named = str(request.path_params["merchant_id"])
        if self.require_client_cert and (peer is None or str(peer) != named):
            raise AuthError("P016")

    def _authenticate(self, request: Request) -> MerchantRef:
        connect_id, password = _basic_credentials(request)
        merchant_id = str(request.path_params["merchant_id"])
        identity = self.authenticator.authenticate(merchant_id, connect_id, password)
        return MerchantRef.of(identity)


def _status_of(error: KessaiError) -> int:
    if error.code == "P016":
        return 403  # a certificate problem: another password would not help
    return next((code for kind, code in _STATUS if isinstance(error, kind)), 500)


def _basic_credentials(request: Request) -> tuple[str, str]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise AuthError("P001", message="sign in with HTTP Basic: connect ID and connect password")
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise AuthError("P001", message="the Basic credentials are not valid base64") from None
    # Credentials are ASCII alphanumerics: bytes that are not ASCII are a wrong credential (P002),
    # refused by the authenticator like any other.
    user, _, password = decoded.decode("ascii", errors="replace").partition(":")
    return user, password


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidRequest("P010", message="the body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("P010", message="the body must be a JSON object")
    return body


def _move_input(body: dict[str, Any]) -> testtool.MoveInput:
    paid_at = body.get("paid_at")
    moment = None
    if paid_at is not None:
        try:
            moment = datetime.fromisoformat(str(paid_at))
        except ValueError:
            raise InvalidRequest("P010", field="paid_at", message="paid_at: ISO 8601") from None
        if moment.tzinfo is None:
            raise InvalidRequest(
                "P010", field="paid_at", message="paid_at needs a time zone, e.g. +09:00"
            )
    amount = body.get("amount")
    if amount is not None and (type(amount) is not int or amount <= 0):
        raise InvalidRequest(
            "P010", field="amount", message="amount: a positive whole number of yen"
        )
    return testtool.MoveInput(
        paid_at=moment,
        amount=amount,
        bank_code=str(body.get("bank_code", "")),
        company_id=str(body.get("chain", "")),
    )


def _required_amount(inp: testtool.MoveInput) -> int:
    if inp.amount is None:
        raise InvalidRequest("P005", field="amount", message="give the amount in yen")
    return inp.amount


def _whole(body: dict[str, Any], name: str) -> int:
    value = body.get(name, 0)
    if type(value) is not int or value < 0:
        raise InvalidRequest("P010", field=name, message=f"{name}: a whole number, 0 or more")
    return value


def _payment(view: PaymentView) -> dict[str, object]:
    return {
        "payment_id": view.payment_id,
        "trading_id": view.trading_id,
        "payment_type": view.payment_type,
        "payment_status": view.status,
        "payment_amount": view.amount,
    }


def _clock(view: testtool.TestClockView) -> dict[str, object]:
    return {
        "merchant_id": view.merchant_id,
        "now": view.now.isoformat(),
        "offset_seconds": view.offset_seconds,
        "expired": view.expired,
    }
