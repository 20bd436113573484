"""What a card authorisation (020) asks for, shared by the ORM path (`commands`) and the lean one."""

from __future__ import annotations

from dataclasses import dataclass

from kessai.connectors.base import CardData
from kessai.core.payments.card.states import CardOperation


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """020: what to authorise. Exactly one card source is set: `card` (raw), `vault_card_id`
    (stored card or ref_trading_id, resolved by `kessai.core.cards.sources`)."""

    trading_id: str
    amount: int
    capture: bool = False
    card: CardData | None = None
    vault_card_id: int | None = None
    valid_term: str = ""  # MMYY of a stored / referenced card
    site_id: str = ""
    payment_class: str = "10"
    split_count: str = ""
    retry_payment_id: int | None = None  # 2003 retry of the same payment (§3.2)
    related_payment_id: int | None = None
    customer_id: str = ""
    customer_card_id: str = ""
    operation: CardOperation | None = None  # VALIDITY_CHECK for 025; default from `capture`
    # EMV 3-D Secure 2 done first (3dsecure_use_type=2): its 3ds_auth_id. Without a card source
    # the payment uses the authenticated card; with one, it must be that card.
    threeds_auth_id: str = ""
