"""File type 024 (カード情報洗替, card refresh): one stored card asked of the card company.

Issue #15's card account updater is built on its own branch; until it is merged, a 024 file is
refused as a whole (9102) and this is the one place that changes when it lands.
"""

from __future__ import annotations

from kessai.core.context import Core, MerchantRef
from kessai.core.files.layout import LineOutcome
from kessai.kit.errors import KessaiError

NOT_SUPPORTED = "カード情報の洗替（ファイル種別024）はまだ利用できません。"


def refresh_available() -> None:
    """9102 until the card account updater is merged (a 024 file is refused before it is stored)."""
    raise KessaiError("9102", message=NOT_SUPPORTED)


def refresh_stored_card(
    core: Core, merchant: MerchantRef, customer_id: str, customer_card_id: str
) -> LineOutcome:
    """Refresh (洗替) one stored card: not supported yet."""
    raise KessaiError("9102", message=NOT_SUPPORTED)
