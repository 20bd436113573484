"""The sandbox's mobile carriers (d払い, au, SoftBank) as an in-process `CarrierBilling`.

No money moves. The buyer's answer comes from Kessai's simulated carrier page: it approves, or the
tester picks a refusal there (`CarrierConsent.test_outcome == "ng"`). Captures, cancellations and
reductions of a payment this sandbox authorised always succeed. As the sandbox acquirer, it answers
the same result again for a repeated idempotency key (kept in memory, bounded), so `lookup` can
tell what happened; a restart forgets the answers and `lookup` then says NOT_SENT.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from kessai.connectors.base import CarrierConsent, ConnectorResult, Outcome

log = logging.getLogger(__name__)

DEFAULT_MEMORY: Final = 50_000
# career_payment_id: the carrier's payment number, a prefix per carrier and 14 digits.
PREFIXES: Final = {"2": "AM", "4": "AK", "5": "DP", "6": "SB", "7": "SA"}
REFUSAL_DETAIL: Final = "キャリアで与信が承認されませんでした（利用限度額超過）"


class SandboxCarrier:
    name = "sandbox-carrier"

    def __init__(self, *, memory: int = DEFAULT_MEMORY) -> None:
        self._memory = memory
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, tuple[tuple[object, ...], ConnectorResult]] = OrderedDict()
        self._open_ids: dict[str, str] = {}

    def authorize(
        self,
        *,
        idempotency_key: str,
        career_type: str,
        amount: int,
        capture: bool,
        consent: CarrierConsent,
    ) -> ConnectorResult:
        request = ("authorize", career_type, amount, capture, consent)
        return self._once(
            idempotency_key, request, lambda: _authorize(career_type, amount, consent)
        )

    def capture(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        request = ("capture", reference, amount)
        return self._once(idempotency_key, request, lambda: _follow_up(reference, amount))

    def cancel(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        request = ("cancel", reference, amount)
        return self._once(idempotency_key, request, lambda: _follow_up(reference, amount))

    def reduce(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        request = ("reduce", reference, amount)
        return self._once(idempotency_key, request, lambda: _reduce(reference, amount))

    def lookup(self, *, idempotency_key: str) -> ConnectorResult:
        with self._lock:
            known = self._answers.get(idempotency_key)
        return known[1] if known else ConnectorResult(outcome=Outcome.NOT_SENT)

    def authenticate(self, *, idempotency_key: str, career_type: str, login_id: str) -> str:
        with self._lock:
            open_id = self._open_ids.get(idempotency_key)
            if open_id is None:
                open_id = f"{PREFIXES.get(career_type, 'XX')}-{secrets.token_urlsafe(24)}"
                self._open_ids[idempotency_key] = open_id
            return open_id

    def release(self, *, open_id: str) -> None:
        log.info("sandbox carrier: OpenID released")

    def _once(
        self, key: str, request: tuple[object, ...], perform: Callable[[], ConnectorResult]
    ) -> ConnectorResult:
        with self._lock:
            known = self._answers.get(key)
            if known is not None:
                if known[0] != request:
                    raise ValueError("idempotency key reused for a different request")
                return known[1]
            result = perform()
            self._answers[key] = (request, result)
            while len(self._answers) > self._memory:
                self._answers.popitem(last=False)
        log.info("sandbox carrier %s: %s", request[0], result.outcome)
        return result


def _career_payment_id(career_type: str) -> str:
    return PREFIXES.get(career_type, "XX") + "".join(
        secrets.choice("0123456789") for _ in range(14)
    )


def _authorize(career_type: str, amount: int, consent: CarrierConsent) -> ConnectorResult:
    if amount <= 0:
        raise ValueError("amount must be positive")
    if consent.test_outcome == "ng":
        return ConnectorResult(
            outcome=Outcome.DECLINED, amount=amount, response_detail=REFUSAL_DETAIL
        )
    return ConnectorResult(
        outcome=Outcome.SUCCEEDED, reference=_career_payment_id(career_type), amount=amount
    )


def _ours(reference: str) -> bool:
    return reference[:2] in PREFIXES.values() and reference[2:].isdigit()


def _follow_up(reference: str, amount: int) -> ConnectorResult:
    if not _ours(reference):
        return ConnectorResult(outcome=Outcome.DECLINED, amount=amount, response_detail="2999")
    return ConnectorResult(outcome=Outcome.SUCCEEDED, reference=reference, amount=amount)


def _reduce(reference: str, amount: int) -> ConnectorResult:
    if not _ours(reference) or amount <= 0:
        return ConnectorResult(outcome=Outcome.DECLINED, amount=amount, response_detail="2999")
    new_reference = reference[:2] + "".join(secrets.choice("0123456789") for _ in range(14))
    return ConnectorResult(outcome=Outcome.SUCCEEDED, reference=new_reference, amount=amount)
