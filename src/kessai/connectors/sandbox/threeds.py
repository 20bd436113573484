"""PAYGENT's sandbox 3-D Secure server as an in-process `ThreeDSServer` (paygent-protocol.md §4).

Brand, issuer and acquirer come from the card stub's routing table (`rules.route`), so the 450
answer names the same companies a later 020 does; the ACS's answers come from `threeds_rules`.
"""

from __future__ import annotations

from kessai.connectors.base import ThreeDSCard, ThreeDSOutcome
from kessai.connectors.sandbox import rules, threeds_rules
from kessai.connectors.sandbox.connector import to_card_issuer
from kessai.kit.secrets import CardNumber


class SandboxThreeDSServer:
    """The sandbox's 3-D Secure server and simulated ACSs."""

    name = "sandbox"

    def card(self, number: CardNumber) -> ThreeDSCard:
        found = rules.route(number)
        return ThreeDSCard(brand=found.brand, issuer=to_card_issuer(found))

    def authenticate(self, *, cardholder_name: str, amount: int) -> ThreeDSOutcome:
        return threeds_rules.first_answer(cardholder_name, amount)

    def challenge(
        self, *, cardholder_name: str, amount: int, password: str
    ) -> ThreeDSOutcome | None:
        return threeds_rules.challenge_answer(password)
