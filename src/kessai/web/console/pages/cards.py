"""Stored cards (カード情報お預かり) of the signed-in user's merchant and 洗替 (the card account
updater): the list with each card's state, one card with its 洗替 history, and the button that runs
洗替 over all of them. Card processing permission; masked numbers only.

Another merchant's card answers what a card that does not exist answers (404, the same words).
"""

from __future__ import annotations

from starlette.responses import Response

from kessai.core.cards import stored, updater
from kessai.core.cards.updater import RefreshOutcome, Trigger
from kessai.kit.errors import InvalidRequest, NotFound
from kessai.web.console import forms
from kessai.web.console.context import Ctx

CARDS_SHOWN = 500

OUTCOME_LABELS: dict[str, str] = {
    "": "未実施",
    RefreshOutcome.UNCHANGED: "変更なし",
    RefreshOutcome.NEW_EXPIRY: "有効期限更新",
    RefreshOutcome.NEW_NUMBER: "カード番号更新",
    RefreshOutcome.CLOSED: "利用停止（退会・解約）",
    RefreshOutcome.CONTACT_CARDHOLDER: "要確認（会員に連絡）",
    RefreshOutcome.UNKNOWN: "回答なし（次回再照会）",
    RefreshOutcome.SUPERSEDED: "照会中に変更あり（未反映）",
    RefreshOutcome.SKIPPED: "対象外",
}
NO_UPDATER = "P007"


def list_cards(ctx: Ctx) -> Response:
    cards, total = stored.list_for_merchant(ctx.core, ctx.merchant, limit=CARDS_SHOWN)
    ctx.note.detail = f"{total} stored cards"
    return ctx.render(
        "cards.html",
        cards=cards,
        total=total,
        more=max(0, total - len(cards)),
        labels=OUTCOME_LABELS,
    )


def detail(ctx: Ctx) -> Response:
    card_id = int(ctx.path["card_id"])
    ctx.note.target = f"stored_card:{card_id}"
    if not 0 < card_id <= forms.MAX_ID:
        raise NotFound(message="指定されたカード情報はありません。")
    try:
        card = stored.get_for_merchant(ctx.core, ctx.merchant, card_id)
    except NotFound:
        raise NotFound(message="指定されたカード情報はありません。") from None
    entries = updater.history(ctx.core, ctx.merchant, card_id)
    return ctx.render("card.html", card=card, entries=entries, labels=OUTCOME_LABELS)


def refresh(ctx: Ctx) -> Response:
    """Run 洗替 over every usable stored card of the merchant, now, and show the counts."""
    try:
        summary = updater.refresh_merchant(ctx.core, ctx.merchant, trigger=Trigger.CONSOLE)
    except InvalidRequest as error:
        if error.code != NO_UPDATER:
            raise
        raise InvalidRequest(
            message="洗替はテスト環境（sandbox）の加盟店でのみ実行できます。"
        ) from None
    ctx.note.detail = " ".join(f"{k}={v}" for k, v in summary.counts.items() if v)[:512]
    return ctx.render(
        "cards_refreshed.html",
        summary=summary,
        counts=[(OUTCOME_LABELS[k], v) for k, v in summary.counts.items()],
        labels=OUTCOME_LABELS,
    )
