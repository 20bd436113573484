"""The acquirer simulator's client: a `CardAcquirer` over HTTP (httpx), mapping in `mapping`.

How transport failures become outcomes is the point of this module:

* NOT_SENT — the request provably never reached the acquirer: connection refused or timed out while
  connecting, no free connection in the pool, the acquirer answered 503 (it did nothing), or the
  URL is not one of its endpoints (404: a wrong `acquirer_url`, logged as an error).
* UNKNOWN — it may have been performed: a read/write timeout, a dropped connection, a 5xx other than
  503, an answer that is not an operation, or an echo that does not match what we sent. The
  reconciler settles these with `lookup`, which asks by idempotency key.
* 400/409 — our own request was wrong (or the key was reused for another request): a programming
  error, raised as `ValueError`, like the sandbox does.

For `lookup` itself a transport failure is UNKNOWN (we could not ask), never NOT_SENT; NOT_SENT
there means the acquirer answered its own 404 (`{"error": "not_found"}`): it never saw the key. Any
other 404 (a wrong `acquirer_url`) is UNKNOWN, since a NOT_SENT lookup fails the authorisation.
"""

from __future__ import annotations

import logging
from typing import Final

import httpx

from kessai.connectors.acquirer_sim import mapping
from kessai.connectors.base import CardData, ConnectorResult, Outcome

log = logging.getLogger(__name__)

# Failures that happen before a single byte of the request left us.
_NEVER_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_UNAVAILABLE: Final = 503
_NO_SUCH_ENDPOINT: Final = 404
_REFUSED: Final = frozenset({400, 409, 422})


class SimAcquirer:
    """The card acquirer simulator (`kessai.simulators.acquirer`) reached over HTTP."""

    name = "acquirer_sim"

    def __init__(
        self, base_url: str, timeout: float, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def authorize(
        self, *, idempotency_key: str, card: CardData, amount: int, capture: bool
    ) -> ConnectorResult:
        """Authorise (オーソリ) `amount`; with `capture` also capture (売上) in the same call."""
        body = mapping.authorization_body(
            idempotency_key=idempotency_key, card=card, amount=amount, capture=capture
        )
        sent = mapping.Sent(idempotency_key, "authorization", amount)
        return self._post("/v1/authorizations", body, sent)

    def capture(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Capture (売上) an authorisation."""
        return self._follow_up("capture", idempotency_key, reference, amount)

    def void(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Void (オーソリ取消) an authorisation that was not captured."""
        return self._follow_up("void", idempotency_key, reference, amount)

    def refund(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Cancel (売上取消) a capture, wholly."""
        return self._follow_up("refund", idempotency_key, reference, amount)

    def lookup(self, *, idempotency_key: str) -> ConnectorResult:
        """What the acquirer did with `idempotency_key`: its first answer, NOT_SENT if it never saw
        the key, UNKNOWN if it cannot be asked right now."""
        try:
            response = self._http.get(mapping.lookup_path(idempotency_key))
        except httpx.TransportError as error:
            return _unknown(idempotency_key, type(error).__name__)
        if response.status_code == _NO_SUCH_ENDPOINT:
            if mapping.is_unseen_key(response.text):
                return ConnectorResult(outcome=Outcome.NOT_SENT)
            log.error("acquirer has no lookup endpoint; is the acquirer URL right?")
            return _unknown(idempotency_key, "HTTP 404 without the acquirer's not_found")
        return self._read(response, mapping.Sent(idempotency_key))

    def _follow_up(
        self, kind: str, idempotency_key: str, reference: str, amount: int
    ) -> ConnectorResult:
        body = mapping.follow_up_body(idempotency_key=idempotency_key, amount=amount)
        sent = mapping.Sent(idempotency_key, kind, amount, reference)
        return self._post(mapping.follow_up_path(reference, kind), body, sent)

    def _post(self, path: str, body: dict[str, object], sent: mapping.Sent) -> ConnectorResult:
        # `body` may hold the card number: it goes to the wire and nowhere else.
        try:
            response = self._http.post(path, json=body)
        except _NEVER_SENT as error:
            return _not_sent(sent.idempotency_key, type(error).__name__)
        except httpx.TransportError as error:
            return _unknown(sent.idempotency_key, type(error).__name__)
        if response.status_code == _UNAVAILABLE:
            return _not_sent(sent.idempotency_key, "HTTP 503")
        if response.status_code == _NO_SUCH_ENDPOINT:
            log.error("acquirer has no endpoint %s; is the acquirer URL right?", path)
            return _not_sent(sent.idempotency_key, "HTTP 404")
        if response.status_code in _REFUSED:
            raise ValueError(f"acquirer simulator refused the request: HTTP {response.status_code}")
        return self._read(response, sent)

    def _read(self, response: httpx.Response, sent: mapping.Sent) -> ConnectorResult:
        if response.status_code != 200:
            return _unknown(sent.idempotency_key, f"HTTP {response.status_code}")
        try:
            payload = response.json()
            result = mapping.parse_operation(payload)
        except ValueError as error:  # not JSON, or JSON that is not an operation
            return _unknown(sent.idempotency_key, f"malformed answer ({error})")
        mismatch = mapping.integrity_failure(payload, sent)
        if mismatch is not None:
            log.warning(
                "acquirer echo differs from the request: %s",
                mismatch,
                extra={"idempotency_key": sent.idempotency_key},
            )
            return mapping.unverified(mismatch)
        return result


def _not_sent(idempotency_key: str, why: str) -> ConnectorResult:
    log.warning("acquirer not reached: %s", why, extra={"idempotency_key": idempotency_key})
    return ConnectorResult(outcome=Outcome.NOT_SENT)


def _unknown(idempotency_key: str, why: str) -> ConnectorResult:
    log.warning("acquirer answer unknown: %s", why, extra={"idempotency_key": idempotency_key})
    return ConnectorResult(outcome=Outcome.UNKNOWN)
