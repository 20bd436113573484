"""PAYGENT's sandbox card stub as an in-process `CardAcquirer`, for merchants in sandbox mode.

No money moves and no network is crossed: `rules` decides every answer from the card's digits. The
stub's timeouts (`X=9` on authorise, `X=3` on void/refund) are *answers* here — DECLINED with
response code `2008` — because PAYGENT's stub answers them as such; nothing is left unknown.

What the acquirer remembers:

* per idempotency key, the answer — in memory, bounded (oldest forgotten first), behind one lock —
  so a repeated call answers the same result without a second authorisation, and `lookup` can tell
  what happened. A restart forgets them: `lookup` then answers NOT_SENT. Each is kept small (the
  request as its hash, the card's route shared between answers): a worker running a 100,000-line
  file keeps 50,000 of them, and a file's memory should not grow with its size.
* per reference, the card's stub digits, which void and refund need for the `X=2`/`X=3` rules. They
  travel *inside* the reference (`sbx-<hex>-<XYZZ>`), so the rules still apply after a restart or
  after the memory has forgotten old keys. The last four digits are no secret: PAYGENT shows them in
  `masked_card_number`.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from kessai.connectors.base import CardData, CardIssuer, ConnectorResult, Outcome
from kessai.connectors.sandbox import rules
from kessai.kit.clock import Clock

log = logging.getLogger(__name__)

REFERENCE_PREFIX: Final = "sbx-"
DEFAULT_MEMORY: Final = 50_000  # answers kept; the oldest are forgotten first


@dataclass(frozen=True, slots=True)
class _Request:
    """What was asked under one idempotency key (never the card number itself)."""

    kind: str
    amount: int
    details: tuple[str | bool, ...]


class SandboxAcquirer:
    """The sandbox acquirer: answers as PAYGENT's test environment does (paygent-protocol.md §4)."""

    name = "sandbox"

    def __init__(self, clock: Clock, *, memory: int = DEFAULT_MEMORY) -> None:
        self._clock = clock
        self._memory = memory
        self._lock = threading.Lock()
        # key → (hash of the request asked under it, the answer)
        self._answers: OrderedDict[str, tuple[int, ConnectorResult]] = OrderedDict()

    def authorize(
        self, *, idempotency_key: str, card: CardData, amount: int, capture: bool
    ) -> ConnectorResult:
        """Authorise (オーソリ) `amount`; with `capture` also capture (売上) in the same call."""
        request = _Request("authorize", amount, (capture, card.number.last4, card.valid_term))
        return self._once(idempotency_key, request, lambda: self._authorize(card, amount))

    def capture(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Capture (売上) an authorisation: the stub always accepts."""
        request = _Request("capture", amount, (reference,))
        return self._once(
            idempotency_key, request, lambda: _follow_up(reference, amount, _always_capture)
        )

    def void(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Void (オーソリ取消) an authorisation; fails for cards with X=2 or X=3."""
        request = _Request("void", amount, (reference,))
        return self._once(
            idempotency_key,
            request,
            lambda: _follow_up(reference, amount, rules.cancellation_result),
        )

    def refund(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Cancel (売上取消) a capture; fails for cards with X=2 or X=3."""
        request = _Request("refund", amount, (reference,))
        return self._once(
            idempotency_key,
            request,
            lambda: _follow_up(reference, amount, rules.cancellation_result),
        )

    def lookup(self, *, idempotency_key: str) -> ConnectorResult:
        """The answer given to `idempotency_key`, or NOT_SENT if this acquirer never saw it."""
        with self._lock:
            answer = self._answers.get(idempotency_key)
        return answer[1] if answer else ConnectorResult(outcome=Outcome.NOT_SENT)

    def _once(
        self, key: str, request: _Request, perform: Callable[[], ConnectorResult]
    ) -> ConnectorResult:
        """Perform `request` once per key; a repeat answers the first result again."""
        if request.amount < 0:  # 0 is allowed: a validity check (有効性チェック) authorises 0 yen
            raise ValueError("amount must not be negative")
        # The lock is held while deciding: two threads with one key must not both authorise.
        asked = hash(request)
        with self._lock:
            known = self._answers.get(key)
            if known is not None:
                if known[0] != asked:
                    raise ValueError("idempotency key reused for a different request")
                return known[1]
            result = perform()
            self._remember(key, (asked, result))
        # DEBUG: the telegram face already logs one INFO line per telegram with its outcome.
        log.debug("sandbox %s: %s", request.kind, result.outcome, extra={"idempotency_key": key})
        return result

    def _remember(self, key: str, answer: tuple[int, ConnectorResult]) -> None:
        self._answers[key] = answer
        while len(self._answers) > self._memory:
            self._answers.popitem(last=False)

    def _authorize(self, card: CardData, amount: int) -> ConnectorResult:
        stub = rules.authorisation_result(
            card.number, card.valid_term, card.security_code, now=self._clock.now()
        )
        card_route = rules.route(card.number)
        issuer = to_card_issuer(card_route)
        extra = _extra_of(card_route.brand)
        if not stub.ok:
            return _declined(stub, None, amount, issuer=issuer, extra=extra)
        return ConnectorResult(
            outcome=Outcome.SUCCEEDED,
            reference=f"{REFERENCE_PREFIX}{secrets.token_hex(10)}-{card.number.last4}",
            amount=amount,
            issuer=issuer,
            approval_number=f"{secrets.randbelow(10**7):07d}",
            extra=extra,
        )


@functools.cache  # a few routes; one shared (frozen) issuer each
def to_card_issuer(card_route: rules.CardRoute) -> CardIssuer:
    """The stub's route as PAYGENT's acq_*/issur_* fields."""
    return CardIssuer(
        acq_id=card_route.acquirer.code,
        acq_name=card_route.acquirer.name,
        issur_id=card_route.issuer.code,
        issur_name=card_route.issuer.name,
        issur_class=card_route.issur_class,
    )


@functools.cache  # one per brand, shared by the answers kept (read-only, so sharing is safe)
def _extra_of(brand: str) -> Mapping[str, str]:
    return MappingProxyType({"brand": brand})


def _always_capture(_last4: str) -> rules.StubResult:
    return rules.capture_result()


def _follow_up(
    reference: str, amount: int, decide: Callable[[str], rules.StubResult]
) -> ConnectorResult:
    """Capture, void or refund: `decide` reads the stub digits the reference carries."""
    last4 = stub_digits_of(reference)
    stub = _UNKNOWN_REFERENCE if last4 is None else decide(last4)
    if not stub.ok:
        return _declined(stub, reference, amount)
    return ConnectorResult(outcome=Outcome.SUCCEEDED, reference=reference, amount=amount)


# An acquirer asked about a transaction it never issued answers a vendor error, not an exception.
_UNKNOWN_REFERENCE: Final = rules.StubResult(rules.VENDOR_ERROR, "2999")


def _declined(
    stub: rules.StubResult,
    reference: str | None,
    amount: int,
    *,
    issuer: CardIssuer | None = None,
    extra: Mapping[str, str] | None = None,
) -> ConnectorResult:
    return ConnectorResult(
        outcome=Outcome.DECLINED,
        reference=reference,
        amount=amount,
        response_code=stub.response_code,
        response_detail=stub.response_detail,
        issuer=issuer,
        extra=extra or {},
    )


def stub_digits_of(reference: str) -> str | None:
    """The card's `XYZZ` carried by a sandbox reference, or None if it is not one of ours."""
    head, _, last4 = reference.rpartition("-")
    if not head.startswith(REFERENCE_PREFIX) or len(last4) != 4 or not last4.isdigit():
        return None
    return last4
