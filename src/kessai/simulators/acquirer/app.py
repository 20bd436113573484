"""The card acquirer simulator: "another company" with its own JSON wire format.

It answers with the same magic digits as PAYGENT's sandbox (`kessai.connectors.sandbox.rules`),
keeps what it performed per idempotency key, and has a control API so tests can make the next calls
fail the ways a network does.

Business API (JSON; a declined operation is a normal 200 answer with `"status": "declined"`)::

    POST /v1/authorizations                      {idempotency_key, pan, exp (MMYY), cvc?, amount,
                                                  capture}
    POST /v1/authorizations/{id}/capture|void|refund   {idempotency_key, amount}
    GET  /v1/operations/{idempotency_key}        the operation as first answered; 404 if never seen

Every operation answers `{operation_id, idempotency_key, type, authorization_id, status, amount,
approval_code, decline: {reason, network_code} | null, card: {...} | null, created_at}`;
authorisations also echo `capture`. Decline reasons are this company's words: `refused`,
`invalid_card_data`, `processor_error`, `issuer_timeout`, `unknown_authorization`; `network_code`
is the CAFIS code (`1G12`, `2999`…). A key sent again with the same request answers the first
result; with another request, 409.

Control API (tests only)::

    POST /control/next   {"action": ..., "delay_ms": N, "count": 1}
                         the next `count` business POSTs (GET lookups are never steered) behave so;
                         knobs queue in order:
                         decline  = perform it as declined (auth 1G12, follow-ups 2999)
                         unknown  = perform it, then answer 500 with an HTML body
                         not_sent = answer 503 and do nothing
                         delay    = perform it, sleep `delay_ms`, then answer
    POST /control/reset  forget everything
    GET  /control/operations   what was performed, card numbers masked

It does not police the order of operations (a capture after a void, a refund larger than the
capture): the gateway's card state table does, and its tests live there.

Card numbers are read into `CardNumber` at once and never logged or stored; only the last four
digits are kept, because the void/refund rules need them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kessai.connectors.sandbox import rules
from kessai.kit.clock import Clock
from kessai.kit.secrets import CardNumber, SecurityCode

log = logging.getLogger(__name__)

Body = dict[str, Any]

# Asked to act on an authorisation it never gave, an acquirer says so; not one of PAYGENT's codes.
_UNKNOWN_AUTHORIZATION: Final = rules.StubResult("unknown_authorization", "")

# PAYGENT response code (as the rules give it) → this company's decline reason.
_REASONS: Final = {
    _UNKNOWN_AUTHORIZATION.response_code: "unknown_authorization",
    rules.DECLINED_BY_ISSUER: "refused",
    rules.VENDOR_ERROR: "processor_error",
    rules.INPUT_ERROR: "invalid_card_data",
    rules.VENDOR_TIMEOUT: "issuer_timeout",
}
_FOLLOW_UPS: Final = frozenset({"capture", "void", "refund"})
_ACTIONS: Final = frozenset({"decline", "unknown", "not_sent", "delay"})
_FORCED_AUTH_DECLINE: Final = rules.StubResult(rules.DECLINED_BY_ISSUER, "1G12")
_FORCED_FOLLOW_UP_DECLINE: Final = rules.StubResult(rules.VENDOR_ERROR, "2999")


class BadRequest(Exception):
    """A request this company cannot read; names the field, never its value."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class KeyReused(Exception):
    """An idempotency key sent again with a different request."""


@dataclass
class Knob:
    action: str
    delay_ms: int
    remaining: int


@dataclass(frozen=True, slots=True)
class Operation:
    request: tuple[object, ...]  # what was asked, PAN-free, to spot a reused key
    answer: Body
    masked_pan: str | None


class Ledger:
    """What this acquirer performed, and the queued test knobs.

    One lock guards it; it is never held across an `await`, so a delayed answer blocks nobody.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._operations: dict[str, Operation] = {}
        self._authorisations: dict[str, str] = {}  # authorization_id → the card's last four
        self._knobs: deque[Knob] = deque()

    def reset(self) -> None:
        with self._lock:
            self._operations.clear()
            self._authorisations.clear()
            self._knobs.clear()

    def push_knob(self, knob: Knob) -> None:
        with self._lock:
            self._knobs.append(knob)

    def take_knob(self) -> Knob | None:
        """The knob steering this call, used up one call at a time."""
        with self._lock:
            if not self._knobs:
                return None
            knob = self._knobs[0]
            knob.remaining -= 1
            if knob.remaining <= 0:
                self._knobs.popleft()
            return knob

    def answer(self, key: str) -> Body | None:
        with self._lock:
            operation = self._operations.get(key)
        return operation.answer if operation else None

    def performed(self) -> list[Body]:
        with self._lock:
            operations = list(self._operations.values())
        return [_summary(op) for op in operations]

    def authorise(
        self,
        key: str,
        card: CardNumber,
        exp: str,
        cvc: SecurityCode | None,
        *,
        amount: int,
        capture: bool,
        force_decline: bool,
    ) -> Body:
        """Authorise once per key; the answer is kept for repeats and lookups."""
        request = ("authorization", card.last4, exp, amount, capture)
        with self._lock:
            known = self._known(key, request)
            if known is not None:
                return known
            stub = _FORCED_AUTH_DECLINE if force_decline else self._rules_say(card, exp, cvc)
            auth_id = f"au_{secrets.token_hex(12)}" if stub.ok else None
            if auth_id is not None:
                self._authorisations[auth_id] = card.last4
            answer = self._new_answer(key, "authorization", auth_id, amount, stub)
            answer["capture"] = capture
            answer["card"] = _card_body(card) | {"last4": card.last4}
            self._operations[key] = Operation(request, answer, card.masked())
        return answer

    def follow_up(
        self, key: str, kind: str, auth_id: str, *, amount: int, force_decline: bool
    ) -> Body:
        """Capture, void or refund once per key."""
        request = (kind, auth_id, amount)
        with self._lock:
            known = self._known(key, request)
            if known is not None:
                return known
            stub = self._follow_up_result(kind, auth_id, force_decline)
            answer = self._new_answer(key, kind, auth_id, amount, stub)
            self._operations[key] = Operation(request, answer, None)
        return answer

    def _known(self, key: str, request: tuple[object, ...]) -> Body | None:
        operation = self._operations.get(key)
        if operation is None:
            return None
        if operation.request != request:
            raise KeyReused(key)
        return operation.answer

    def _rules_say(self, card: CardNumber, exp: str, cvc: SecurityCode | None) -> rules.StubResult:
        return rules.authorisation_result(card, exp, cvc, now=self._clock.now())

    def _follow_up_result(self, kind: str, auth_id: str, force_decline: bool) -> rules.StubResult:
        last4 = self._authorisations.get(auth_id)
        if last4 is None:
            return _UNKNOWN_AUTHORIZATION
        if force_decline:
            return _FORCED_FOLLOW_UP_DECLINE
        return rules.capture_result() if kind == "capture" else rules.cancellation_result(last4)

    def _new_answer(
        self, key: str, kind: str, auth_id: str | None, amount: int, stub: rules.StubResult
    ) -> Body:
        decline = None
        if not stub.ok:
            reason = _REASONS.get(stub.response_code, "processor_error")
            decline = {"reason": reason, "network_code": stub.response_detail}
        return {
            "operation_id": f"op_{secrets.token_hex(12)}",
            "idempotency_key": key,
            "type": kind,
            "authorization_id": auth_id,
            "status": "approved" if stub.ok else "declined",
            "amount": amount,
            "approval_code": f"{secrets.randbelow(10**7):07d}" if stub.ok else None,
            "decline": decline,
            "card": None,
            "created_at": self._clock.now().isoformat(),
        }


def _card_body(card: CardNumber) -> Body:
    """Brand, acquirer and issuer as this company reports them."""
    card_route = rules.route(card)
    return {
        "brand": card_route.brand,
        "acquirer": {"code": card_route.acquirer.code, "name": card_route.acquirer.name},
        "issuer": {
            "code": card_route.issuer.code,
            "name": card_route.issuer.name,
            "domestic": card_route.issur_class == "0",
        },
    }


def _summary(operation: Operation) -> Body:
    answer = operation.answer
    fields = ("idempotency_key", "type", "status", "amount", "authorization_id", "operation_id")
    return {name: answer[name] for name in fields} | {"card": operation.masked_pan}


# ---- reading requests -------------------------------------------------------------------------


async def _json_object(request: Request) -> Body:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("body") from None
    if not isinstance(body, dict):
        raise BadRequest("body")
    return body


def _text(body: Body, name: str, *, optional: bool = False) -> str:
    value = body.get(name)
    if value is None and optional:
        return ""
    if not isinstance(value, str) or not value:
        raise BadRequest(name)
    return value


def _amount(body: Body) -> int:
    value = body.get("amount")
    # 0 is a card validity check (an account verification), not an error.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest("amount")
    return value


def _flag(body: Body, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise BadRequest(name)
    return value


# ---- answering ----------------------------------------------------------------------------------


async def _perform(ledger: Ledger, perform: Callable[[bool], Body]) -> Response:
    """Run one business operation under whatever knob the tests queued."""
    knob = ledger.take_knob()
    action = knob.action if knob else ""
    if action == "not_sent":
        return JSONResponse({"error": "service_unavailable"}, status_code=503)
    try:
        answer = perform(action == "decline")
    except KeyReused:
        return JSONResponse({"error": "idempotency_key_reused"}, status_code=409)
    log.info("acquirer simulator: %s %s", answer["type"], answer["status"])
    if action == "unknown":
        return Response("<html><body>Internal Server Error</body></html>", status_code=500)
    if knob is not None and action == "delay":
        await asyncio.sleep(knob.delay_ms / 1000)
    return JSONResponse(answer)


def _bad_request(error: BadRequest) -> Response:
    return JSONResponse({"error": "invalid_request", "field": error.field}, status_code=400)


class _Api:
    """The HTTP handlers, bound to one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def authorize(self, request: Request) -> Response:
        try:
            body = await _json_object(request)
            key, exp, amount = _text(body, "idempotency_key"), _text(body, "exp"), _amount(body)
            card = CardNumber(_text(body, "pan"))
            cvc_text = _text(body, "cvc", optional=True)
            capture = _flag(body, "capture")
        except BadRequest as error:
            return _bad_request(error)
        cvc = SecurityCode(cvc_text) if cvc_text else None
        return await _perform(
            self.ledger,
            lambda decline: self.ledger.authorise(
                key, card, exp, cvc, amount=amount, capture=capture, force_decline=decline
            ),
        )

    async def follow_up(self, request: Request) -> Response:
        kind, auth_id = request.path_params["action"], request.path_params["authorization_id"]
        if kind not in _FOLLOW_UPS:
            return JSONResponse({"error": "not_found"}, status_code=404)
        try:
            body = await _json_object(request)
            key, amount = _text(body, "idempotency_key"), _amount(body)
        except BadRequest as error:
            return _bad_request(error)
        return await _perform(
            self.ledger,
            lambda decline: self.ledger.follow_up(
                key, kind, auth_id, amount=amount, force_decline=decline
            ),
        )

    async def operation(self, request: Request) -> Response:
        answer = self.ledger.answer(request.path_params["idempotency_key"])
        if answer is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(answer)

    async def control_next(self, request: Request) -> Response:
        try:
            knob = _knob(await _json_object(request))
        except BadRequest as error:
            return _bad_request(error)
        self.ledger.push_knob(knob)
        return JSONResponse({"queued": knob.action, "count": knob.remaining})

    async def control_reset(self, request: Request) -> Response:
        self.ledger.reset()
        return JSONResponse({"reset": True})

    async def control_operations(self, request: Request) -> Response:
        return JSONResponse({"operations": self.ledger.performed()})


def create_app(clock: Clock) -> Starlette:
    """The simulator as an ASGI app; its ledger is `app.state.ledger`."""
    api = _Api(Ledger(clock))
    app = Starlette(
        routes=[
            Route("/v1/authorizations", api.authorize, methods=["POST"]),
            Route(
                "/v1/authorizations/{authorization_id}/{action}", api.follow_up, methods=["POST"]
            ),
            Route("/v1/operations/{idempotency_key}", api.operation, methods=["GET"]),
            Route("/control/next", api.control_next, methods=["POST"]),
            Route("/control/reset", api.control_reset, methods=["POST"]),
            Route("/control/operations", api.control_operations, methods=["GET"]),
        ]
    )
    app.state.ledger = api.ledger
    return app


def _knob(body: Body) -> Knob:
    action = body.get("action")
    if action not in _ACTIONS:
        raise BadRequest("action")
    delay_ms, count = body.get("delay_ms", 0), body.get("count", 1)
    if not isinstance(delay_ms, int) or delay_ms < 0:
        raise BadRequest("delay_ms")
    if not isinstance(count, int) or count < 1:
        raise BadRequest("count")
    return Knob(action=str(action), delay_ms=delay_ms, remaining=count)
