"""The monthly 洗替 (card account updater) schedule: per merchant, off unless set.

A merchant with a schedule day (1–28) has its stored cards refreshed from that day of each month,
Japan time, by the worker: each pass refreshes at most `BATCH` of the merchant's usable cards that
have not been answered since the month began, so a large merchant is spread over passes and
never holds up the worker's other jobs for long. A card answered this month (by any run: the
schedule, the CLI, the console, a 024 file) waits for next month; one that got no answer
(`unknown`), changed while asked (`superseded`) or was cut off is asked again a day later. Several
workers may run it at once: `refresh_card` answers 9005 for a card another one is asking about.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import exists, or_, select

from kessai.core.cards.models import CardRefresh, CardRefreshSchedule, StoredCard
from kessai.core.cards.updater import RefreshOutcome, Trigger, refresh_cards
from kessai.core.context import Core, MerchantRef
from kessai.core.merchants.commands import get_merchant
from kessai.core.merchants.models import Merchant
from kessai.kit.clock import JST
from kessai.kit.errors import InvalidRequest

log = logging.getLogger(__name__)

BATCH: Final = 200  # cards per worker pass, over all merchants
DAYS: Final = range(1, 29)  # every month has days 1–28
RETRY_AFTER: Final = timedelta(days=1)  # a card without an answer is asked again after this
_NOT_ANSWERS: Final = ("", "unknown", "superseded")  # "": still asking (or cut off)


def set_schedule(core: Core, merchant_id: int, day: int | None) -> int | None:
    """Refresh the merchant's cards monthly from `day` (1–28); None turns it off."""
    if day is not None and day not in DAYS:
        raise InvalidRequest(
            message=f"the 洗替 day must be 1 to 28 (every month has it), not {day}"
        )
    with core.sessions.begin() as session:
        get_merchant(session, merchant_id)
        row = session.get(CardRefreshSchedule, merchant_id)
        if day is None:
            if row is not None:
                session.delete(row)
            return None
        if row is None:
            row = CardRefreshSchedule(merchant_id=merchant_id, day=day, updated_at=core.clock.now())
            session.add(row)
        row.day, row.updated_at = day, core.clock.now()
        return day


def schedule_of(core: Core, merchant_id: int) -> int | None:
    """The merchant's schedule day, None when off."""
    with core.sessions() as session:
        get_merchant(session, merchant_id)
        row = session.get(CardRefreshSchedule, merchant_id)
        return row.day if row is not None else None


def refresh_due(core: Core, *, batch: int = BATCH) -> int:
    """One worker pass: refresh up to `batch` cards that are due; the number refreshed."""
    done = 0
    for merchant, day in _scheduled(core):
        now = core.now_for(merchant).astimezone(JST)
        if now.day < day or done >= batch:
            continue
        due = _due_cards(core, merchant, now, batch - done)
        if not due:
            continue
        try:
            results = refresh_cards(core, merchant, due, trigger=Trigger.SCHEDULE)
        except InvalidRequest as error:  # P007: no updater serves the merchant (production)
            log.info("scheduled card refresh not served", extra={"code": error.code})
            continue
        done += sum(1 for result in results if result.outcome is not RefreshOutcome.SKIPPED)
    return done


def _scheduled(core: Core) -> list[tuple[MerchantRef, int]]:
    with core.sessions() as session:
        rows = session.execute(
            select(Merchant, CardRefreshSchedule.day)
            .join(CardRefreshSchedule, CardRefreshSchedule.merchant_id == Merchant.id)
            .order_by(Merchant.id)
        ).all()
        return [(MerchantRef.of(merchant), int(day)) for merchant, day in rows]


def _due_cards(
    core: Core, merchant: MerchantRef, now: datetime, limit: int
) -> list[tuple[str, int, str]]:
    """Usable cards not answered since the month began (Japan time) nor asked in the last day."""
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    not_due = exists().where(
        CardRefresh.stored_card_id == StoredCard.id,
        or_(
            (CardRefresh.asked_at >= month_start) & CardRefresh.outcome.not_in(_NOT_ANSWERS),
            CardRefresh.asked_at >= now - RETRY_AFTER,
        ),
    )
    with core.sessions() as session:
        rows = session.execute(
            select(StoredCard.id, StoredCard.customer_id, StoredCard.site_id)
            .where(
                StoredCard.merchant_id == merchant.id,
                StoredCard.deleted_at.is_(None),
                StoredCard.closed_at.is_(None),
                ~not_due,
            )
            .order_by(StoredCard.id)
            .limit(limit)
        ).all()
    return [(customer_id, int(card_id), site_id) for card_id, customer_id, site_id in rows]
