"""The sandbox account updater (洗替) as an in-process `AccountUpdater`.

No card company is asked: `updater_rules` answers from the card's last digits. Asking changes
nothing anywhere, so the same card asked twice answers the same (no memory is needed).
"""

from __future__ import annotations

import logging

from kessai.connectors.base import CardData, CardUpdateAnswer
from kessai.connectors.sandbox import updater_rules

log = logging.getLogger(__name__)


class SandboxAccountUpdater:
    """Answers as the stub rules say (`updater_rules`)."""

    name = "sandbox_updater"

    def inquire(self, *, idempotency_key: str, card: CardData) -> CardUpdateAnswer:
        answer = updater_rules.answer_for(card.number, card.valid_term)
        log.info(
            "sandbox updater: %s",
            answer.outcome,
            extra={"idempotency_key": idempotency_key},
        )
        return answer
