"""File type 024 (カード情報洗替, card refresh): each line names one stored card, which is refreshed
by the card account updater's own command (`core.cards.updater.refresh_card`, as the CLI and the
console do) and answered in the result file with what the card company said and what changed.

A line is `customer_id`, `customer_card_id` and optionally `site_id`. Its data record carries the
common columns and then `REFRESH_COLUMNS` (masked numbers and expiries only, as the history keeps).
"""

from __future__ import annotations

from typing import Final

from kessai.core.cards.updater import RefreshOutcome, RefreshResult, Trigger, refresh_card
from kessai.core.context import Core, MerchantRef
from kessai.core.files.layout import LineOutcome
from kessai.kit.errors import NotFound

REFRESH_FILE_TYPE: Final = "024"
# A 024 data record's own columns, after the common ones (result.py).
REFRESH_COLUMNS: Final = (
    "refresh_outcome",
    "masked_card_number_before",
    "masked_card_number_after",
    "card_valid_term_before",
    "card_valid_term_after",
)
# The card company did not answer: nothing changed and the card is asked again next time.
NO_ANSWER_CODE: Final = "2008"

# response_detail of a line that was answered, for people reading the result file.
_DETAILS: Final[dict[RefreshOutcome, str]] = {
    RefreshOutcome.UNCHANGED: "変更はありません。",
    RefreshOutcome.NEW_EXPIRY: "有効期限を更新しました。",
    RefreshOutcome.NEW_NUMBER: "カード番号と有効期限を更新しました。",
    RefreshOutcome.CLOSED: "カードは利用できなくなりました（利用停止）。",
    RefreshOutcome.CONTACT_CARDHOLDER: "カード会員にご確認ください。",
    RefreshOutcome.UNKNOWN: "カード会社から回答がありませんでした。次回あらためて照会します。",
    RefreshOutcome.SUPERSEDED: "照会中にカード情報が変更されたため、回答は反映していません。",
    RefreshOutcome.SKIPPED: "",
}


def refresh_stored_card(
    core: Core, merchant: MerchantRef, customer_id: str, customer_card_id: str, site_id: str = ""
) -> LineOutcome:
    """Refresh (洗替) the stored card a 024 line names; P022 for a card that is not the
    merchant's, P007 for a merchant no updater serves, 9005 while another run asks about it."""
    if not (customer_card_id.isascii() and customer_card_id.isdigit()):
        raise NotFound("P022", field="customer_card_id")  # the codec checks digits too
    result = refresh_card(
        core,
        merchant,
        customer_id=customer_id,
        customer_card_id=int(customer_card_id),
        site_id=site_id,
        trigger=Trigger.FILE,
    )
    return line_outcome(result)


def line_outcome(result: RefreshResult) -> LineOutcome:
    """A refresh as its data record: result 0 with the outcome, or 1/2008 when nobody answered."""
    answered = result.outcome is not RefreshOutcome.UNKNOWN
    return LineOutcome(
        result="0" if answered else "1",
        response_code="" if answered else NO_ANSWER_CODE,
        response_detail=_DETAILS[result.outcome],
        customer_card_id=str(result.customer_card_id),
        columns=(
            result.outcome.value,
            result.masked_before,
            result.masked_after,
            result.valid_term_before,
            result.valid_term_after,
        ),
    )
