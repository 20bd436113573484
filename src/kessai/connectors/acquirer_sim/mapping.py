"""Pure translation between the acquirer simulator's JSON and Kessai's `ConnectorResult`.

The simulator speaks its own words; this module is the one place that knows them::

    simulator status / decline reason     outcome     PAYGENT response_code, response_detail
    approved                              SUCCEEDED   –
    declined  refused                     DECLINED    2001, network_code (e.g. 1G12)
    declined  invalid_card_data           DECLINED    2003, network_code (e.g. 1G83)
    declined  processor_error             DECLINED    2002, network_code (e.g. 1C01, 2999)
    declined  issuer_timeout              DECLINED    2008, network_code (2999)
    declined  unknown_authorization       DECLINED    2002, 2999
    declined  any other reason            DECLINED    2002, network_code or 2999

`amount` and `reference` of the result are what the simulator *says* it did; `integrity_failure`
compares its echo with what we sent (architecture-notes §1.7) before anyone trusts the answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from kessai.connectors.base import CardData, CardIssuer, ConnectorResult, Outcome

VENDOR_ERROR: Final = "2002"
OTHER_DETAIL: Final = "2999"

DECLINE_CODES: Final[Mapping[str, str]] = {
    "refused": "2001",
    "invalid_card_data": "2003",
    "processor_error": VENDOR_ERROR,
    "issuer_timeout": "2008",
    "unknown_authorization": VENDOR_ERROR,
}


class MalformedAnswer(ValueError):
    """The simulator answered something that is not an operation; names the field at fault."""


@dataclass(frozen=True, slots=True)
class Sent:
    """What we asked, to hold the echo against. `None` fields are not checked."""

    idempotency_key: str
    kind: str | None = None
    amount: int | None = None
    reference: str | None = None


def authorization_body(
    *, idempotency_key: str, card: CardData, amount: int, capture: bool
) -> dict[str, object]:
    """The authorisation request. It holds the full card number: give it to the HTTP client only,
    never to a log or an error message."""
    body: dict[str, object] = {
        "idempotency_key": idempotency_key,
        "pan": card.number.reveal(),
        "exp": card.valid_term,
        "amount": amount,
        "capture": capture,
    }
    if card.security_code is not None:
        body["cvc"] = card.security_code.reveal()
    return body


def follow_up_body(*, idempotency_key: str, amount: int) -> dict[str, object]:
    """A capture, void or refund request."""
    return {"idempotency_key": idempotency_key, "amount": amount}


def follow_up_path(reference: str, kind: str) -> str:
    return f"/v1/authorizations/{quote(reference, safe='')}/{kind}"


def lookup_path(idempotency_key: str) -> str:
    return f"/v1/operations/{quote(idempotency_key, safe='')}"


def is_unseen_key(body: str) -> bool:
    """Whether a lookup's 404 `body` is the acquirer saying it never saw the key (and not some
    other server's 404: a wrong URL)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("error") == "not_found"


def parse_operation(payload: object) -> ConnectorResult:
    """The simulator's operation as a `ConnectorResult`; `MalformedAnswer` for anything else."""
    data = _object(payload, "body")
    reference = _optional_text(data, "authorization_id")
    amount = _int(data, "amount")
    issuer, extra = _card(data.get("card"))
    extra["operation_id"] = _text(data, "operation_id")
    status = data.get("status")
    if status == "approved":
        if reference is None:
            raise MalformedAnswer("authorization_id")
        approval = _optional_text(data, "approval_code") or ""
        return ConnectorResult(
            Outcome.SUCCEEDED,
            reference,
            amount,
            issuer=issuer,
            approval_number=approval,
            extra=extra,
        )
    if status == "declined":
        code, detail = _decline(data.get("decline"), extra)
        return ConnectorResult(
            Outcome.DECLINED, reference, amount, code, detail, issuer=issuer, extra=extra
        )
    raise MalformedAnswer("status")


def integrity_failure(payload: Mapping[str, Any], sent: Sent) -> str | None:
    """The first echoed field that differs from what we sent, or None when all match."""
    checks = (
        ("idempotency_key", sent.idempotency_key),
        ("type", sent.kind),
        ("amount", sent.amount),
        ("authorization_id", sent.reference),
    )
    for name, expected in checks:
        if expected is not None and payload.get(name) != expected:
            return name
    return None


def unverified(field: str) -> ConnectorResult:
    """An answer whose echo does not match: not applied; the reconciler must ask again."""
    return ConnectorResult(outcome=Outcome.UNKNOWN, extra={"integrity_failure": field})


def _decline(value: object, extra: dict[str, str]) -> tuple[str, str]:
    decline = _object(value, "decline")
    reason = _text(decline, "reason")
    extra["decline_reason"] = reason
    detail = _optional_text(decline, "network_code") or OTHER_DETAIL
    return DECLINE_CODES.get(reason, VENDOR_ERROR), detail


def _card(value: object) -> tuple[CardIssuer | None, dict[str, str]]:
    """Acquirer and issuer as PAYGENT's acq_*/issur_* fields, and the brand for `extra`."""
    if value is None:
        return None, {}
    card = _object(value, "card")
    acquirer, issuer = (
        _object(card.get("acquirer"), "acquirer"),
        _object(card.get("issuer"), "issuer"),
    )
    domestic = issuer.get("domestic")
    if not isinstance(domestic, bool):
        raise MalformedAnswer("issuer.domestic")
    card_issuer = CardIssuer(
        acq_id=_text(acquirer, "code", empty=True),
        acq_name=_text(acquirer, "name", empty=True),
        issur_id=_text(issuer, "code", empty=True),
        issur_name=_text(issuer, "name", empty=True),
        issur_class="0" if domestic else "1",
    )
    return card_issuer, {"brand": _text(card, "brand")}


def _object(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MalformedAnswer(name)
    return value


def _text(data: Mapping[str, Any], name: str, *, empty: bool = False) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not (value or empty):
        raise MalformedAnswer(name)
    return value


def _optional_text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise MalformedAnswer(name)
    return value


def _int(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedAnswer(name)
    return value
