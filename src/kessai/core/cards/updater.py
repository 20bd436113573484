"""The card account updater (洗替, `card_refresh`): ask the card companies about stored cards and
apply their answers to the vault.

One stored card, in the house's order (STYLE.md "write-ahead, then apply"):

1. transaction 1 locks the stored card, writes a `CardRefresh` history row as ``asking`` and reads
   the number from the vault;
2. the updater is asked outside any transaction (no lock held across the network);
3. transaction 2 locks the card again and applies the answer, completing the history row: a new
   expiry replaces the expiry; a new number is sealed into the card's vault row under a new data
   key (the old ciphertext, fingerprint and mask are overwritten: nothing of the old number stays);
   a closed account marks the card closed (020 with it then answers 2001/1G12 without reaching the
   acquirer); "contact cardholder" only flags it. If the card changed meanwhile (116, 026, another
   refresh), the answer is about a card we no longer hold: it is recorded as ``superseded`` and
   nothing is applied.

A crash between 1 and 3 leaves an ``asking`` row; the next refresh of the card closes it as
``unknown`` and asks again. An updater that cannot answer (UNKNOWN) changes nothing either: the
card is asked again on the next run, never guessed about. History and logs hold the last four
digits and expiries only, never a number.

`refresh_card` is the entry point for one card (file type 024 calls it per line); `refresh_merchant`
runs the same steps over all of a merchant's usable stored cards (`kessai cards refresh`, the
console, the monthly schedule), a chunk of cards per transaction.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.connectors.base import CardData, CardUpdate, CardUpdateAnswer
from kessai.core.cards import stored
from kessai.core.cards.models import CardRefresh, StoredCard, VaultCard
from kessai.core.context import Core, MerchantRef
from kessai.kit.clock import as_utc
from kessai.kit.errors import InProgress, KessaiError

log = logging.getLogger(__name__)

# An inquiry still `asking` after this long was cut off (a crash): the next refresh closes it.
ASKING_TIMEOUT: Final = timedelta(minutes=5)
# Cards per transaction in a run over a merchant's cards: two commits per chunk instead of per card.
CHUNK: Final = 50
MASK_PREFIX: Final = "*" * 12  # PAYGENT's masked_card_number: 12 stars and the last four digits


class RefreshOutcome(StrEnum):
    """What one refresh did to a stored card (the history's `outcome`, the CLI's counts)."""

    UNCHANGED = "unchanged"
    NEW_EXPIRY = "new_expiry"
    NEW_NUMBER = "new_number"
    CLOSED = "closed"
    CONTACT_CARDHOLDER = "contact_cardholder"
    UNKNOWN = "unknown"  # no answer: nothing changed, asked again next time
    SUPERSEDED = "superseded"  # the card changed while the updater was asked: nothing applied
    SKIPPED = "skipped"  # not asked: being refreshed by another run, or gone (CLI results only)


class Trigger(StrEnum):
    """Who started a refresh (kept in the history)."""

    CLI = "cli"
    FILE = "file"
    CONSOLE = "console"
    SCHEDULE = "schedule"


# The history's outcome for each updater answer.
_OUTCOMES: Final[dict[CardUpdate, RefreshOutcome]] = {
    CardUpdate.UNCHANGED: RefreshOutcome.UNCHANGED,
    CardUpdate.NEW_EXPIRY: RefreshOutcome.NEW_EXPIRY,
    CardUpdate.NEW_NUMBER: RefreshOutcome.NEW_NUMBER,
    CardUpdate.CLOSED: RefreshOutcome.CLOSED,
    CardUpdate.CONTACT_CARDHOLDER: RefreshOutcome.CONTACT_CARDHOLDER,
    CardUpdate.UNKNOWN: RefreshOutcome.UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """One card's refresh, with masked numbers only (safe to print, log and put in a file)."""

    customer_id: str
    customer_card_id: int
    site_id: str
    outcome: RefreshOutcome
    masked_before: str
    masked_after: str
    valid_term_before: str
    valid_term_after: str
    refresh_id: int | None = None  # the history row (None when nothing was asked)
    response_code: str = ""  # why a card was skipped (9005 busy, P022 gone)

    def as_json(self) -> dict[str, object]:
        return {
            "customer_id": self.customer_id,
            "customer_card_id": str(self.customer_card_id),
            "site_id": self.site_id,
            "outcome": self.outcome.value,
            "masked_card_number_before": self.masked_before,
            "masked_card_number_after": self.masked_after,
            "card_valid_term_before": self.valid_term_before,
            "card_valid_term_after": self.valid_term_after,
            "response_code": self.response_code,
        }


@dataclass(frozen=True)
class RefreshSummary:
    """A run over a merchant's stored cards: counts per outcome and every card's result."""

    merchant_id: int
    results: tuple[RefreshResult, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "merchant_id": self.merchant_id,
            "total": len(self.results),
            "counts": self.counts,
            "cards": [result.as_json() for result in self.results],
        }


Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class _Asked:
    """What transaction 1 wrote and read: enough to ask, and to notice a change before applying."""

    refresh_id: int
    key: str
    card: CardData
    stored_card_id: int
    vault_card_id: int
    fingerprint: str


# ---------------------------------------------------------------- one card


def refresh_card(
    core: Core,
    merchant: MerchantRef,
    *,
    customer_id: str,
    customer_card_id: int,
    site_id: str = "",
    trigger: Trigger = Trigger.FILE,
) -> RefreshResult:
    """Refresh (洗替) one stored card: ask the updater, apply the answer, record it in the history.

    P007 for a merchant no updater serves, P022 for a card that is not the merchant's (or was
    deleted), 9005 while another run is asking about the same card. A closed card is not asked
    again: it answers CLOSED with nothing written."""
    updater = core.updater_for(merchant)  # P007 before anything is written
    ref = (customer_id, customer_card_id, site_id)
    asked = _write_ahead(core, merchant, ref, trigger)
    if isinstance(asked, RefreshResult):
        return asked
    answer = updater.inquire(idempotency_key=asked.key, card=asked.card)
    return _apply(core, merchant, ref, asked, answer)


def _write_ahead(
    core: Core, merchant: MerchantRef, ref: tuple[str, int, str], trigger: Trigger
) -> _Asked | RefreshResult:
    """Transaction 1: lock the card, record the inquiry as `asking`, read the number."""
    with core.sessions.begin() as session:
        return _write_ahead_in(session, core, merchant, ref, trigger)


def _write_ahead_in(
    session: Session,
    core: Core,
    merchant: MerchantRef,
    ref: tuple[str, int, str],
    trigger: Trigger,
) -> _Asked | RefreshResult:
    customer_id, customer_card_id, site_id = ref
    now = core.now_for(merchant)
    row = stored.lock(
        session,
        merchant.id,
        site_id=site_id,
        customer_id=customer_id,
        customer_card_id=customer_card_id,
    )
    vault_row = _vault_row(session, row)
    if row.closed_at is not None:
        return _result(row, vault_row, RefreshOutcome.CLOSED, row.card_valid_term, None)
    _close_cut_off_inquiries(session, row.id, now)
    refresh = _new_refresh(merchant, row, vault_row, trigger, now)
    session.add(refresh)
    session.flush()
    card = CardData(core.vault.open(vault_row), row.card_valid_term)
    return _Asked(
        refresh.id, refresh.idempotency_key, card, row.id, vault_row.id, vault_row.fingerprint
    )


def _close_cut_off_inquiries(session: Session, stored_card_id: int, now: datetime) -> None:
    """9005 while another run is asking about the card; an inquiry cut off by a crash (still
    `asking` after ASKING_TIMEOUT) is closed as `unknown`: its answer was never applied."""
    asking = session.scalars(
        select(CardRefresh).where(
            CardRefresh.stored_card_id == stored_card_id, CardRefresh.status == "asking"
        )
    ).all()
    for refresh in asking:
        if as_utc(refresh.asked_at) > now - ASKING_TIMEOUT:
            raise InProgress()
        refresh.status, refresh.outcome, refresh.answered_at = (
            "answered",
            RefreshOutcome.UNKNOWN.value,
            now,
        )


def _new_refresh(
    merchant: MerchantRef, row: StoredCard, vault_row: VaultCard, trigger: Trigger, now: datetime
) -> CardRefresh:
    return CardRefresh(
        merchant_id=merchant.id,
        stored_card_id=row.id,
        idempotency_key="crf_" + secrets.token_hex(16),
        trigger=trigger.value,
        status="asking",
        outcome="",
        old_last4=vault_row.masked[-4:],
        new_last4="",
        old_valid_term=row.card_valid_term,
        new_valid_term="",
        asked_at=now,
    )


def _apply(
    core: Core,
    merchant: MerchantRef,
    ref: tuple[str, int, str],
    asked: _Asked,
    answer: CardUpdateAnswer,
) -> RefreshResult:
    """Transaction 2: apply the answer to the card if it is still the card we asked about."""
    with core.sessions.begin() as session:
        return _apply_in(session, core, merchant, ref, asked, answer)


def _apply_in(
    session: Session,
    core: Core,
    merchant: MerchantRef,
    ref: tuple[str, int, str],
    asked: _Asked,
    answer: CardUpdateAnswer,
) -> RefreshResult:
    customer_id, customer_card_id, site_id = ref
    now = core.now_for(merchant)
    refresh = session.get(CardRefresh, asked.refresh_id, with_for_update=True)
    assert refresh is not None
    row = session.get(StoredCard, asked.stored_card_id, with_for_update=True)
    assert row is not None
    vault_row = _vault_row(session, row)
    before = (MASK_PREFIX + vault_row.masked[-4:], row.card_valid_term)
    outcome = _outcome(refresh, row, vault_row, asked, answer)
    if outcome is not RefreshOutcome.SUPERSEDED:
        _change_card(core, row, vault_row, answer, outcome, now)
    _complete(refresh, vault_row, row, outcome, now)
    log.info(
        "card refresh answered",
        extra={"merchant_id": merchant.id, "customer_card_id": row.id, "outcome": outcome.value},
    )
    return RefreshResult(
        customer_id=customer_id,
        customer_card_id=customer_card_id,
        site_id=site_id,
        outcome=outcome,
        masked_before=before[0],
        masked_after=MASK_PREFIX + vault_row.masked[-4:],
        valid_term_before=before[1],
        valid_term_after=row.card_valid_term,
        refresh_id=refresh.id,
    )


def _outcome(
    refresh: CardRefresh,
    row: StoredCard,
    vault_row: VaultCard,
    asked: _Asked,
    answer: CardUpdateAnswer,
) -> RefreshOutcome:
    """The answer's outcome, or SUPERSEDED if the card is no longer the one that was asked about
    (deleted, closed, another number or expiry, or this inquiry was closed as cut off)."""
    unchanged = (
        refresh.status == "asking"
        and row.deleted_at is None
        and row.closed_at is None
        and row.vault_card_id == asked.vault_card_id
        and vault_row.fingerprint == asked.fingerprint
        and row.card_valid_term == asked.card.valid_term
    )
    if not unchanged:
        return RefreshOutcome.SUPERSEDED
    outcome = _OUTCOMES[answer.outcome]
    if outcome in (RefreshOutcome.NEW_EXPIRY, RefreshOutcome.NEW_NUMBER) and not _answer_usable(
        answer
    ):
        log.warning("card updater answered an unusable card", extra={"outcome": outcome.value})
        return RefreshOutcome.UNKNOWN
    return outcome


def _answer_usable(answer: CardUpdateAnswer) -> bool:
    """A new expiry is MMYY; a new number is 12–19 ASCII digits (the vault's own rule)."""
    term = answer.valid_term
    if answer.outcome is CardUpdate.NEW_NUMBER:
        pan = answer.number.reveal() if answer.number is not None else ""
        if not (pan.isascii() and pan.isdigit() and 12 <= len(pan) <= 19):
            return False
        if not term:
            return True  # the new card keeps the expiry
    return len(term) == 4 and term.isdigit() and 1 <= int(term[:2]) <= 12


def _change_card(
    core: Core,
    row: StoredCard,
    vault_row: VaultCard,
    answer: CardUpdateAnswer,
    outcome: RefreshOutcome,
    now: datetime,
) -> None:
    """Apply one usable answer to the stored card and its vault row."""
    match outcome:
        case RefreshOutcome.NEW_EXPIRY:
            row.card_valid_term = answer.valid_term
        case RefreshOutcome.NEW_NUMBER:
            assert answer.number is not None
            old_brand = vault_row.brand
            core.vault.reseal(vault_row, answer.number)
            if row.card_brand in ("", old_brand):  # detected, not the merchant's own label
                row.card_brand = vault_row.brand
            row.card_valid_term = answer.valid_term or row.card_valid_term
        case RefreshOutcome.CLOSED:
            row.closed_at = now
        case RefreshOutcome.UNKNOWN:
            return  # nothing is known: the card stays as it was, its last answer too
        case _:
            pass  # unchanged, contact cardholder: the answer is the flag
    row.refresh_result, row.refreshed_at = outcome.value, now


def _complete(
    refresh: CardRefresh,
    vault_row: VaultCard,
    row: StoredCard,
    outcome: RefreshOutcome,
    now: datetime,
) -> None:
    refresh.status, refresh.outcome, refresh.answered_at = "answered", outcome.value, now
    refresh.new_last4 = vault_row.masked[-4:]
    refresh.new_valid_term = row.card_valid_term


def _result(
    row: StoredCard,
    vault_row: VaultCard,
    outcome: RefreshOutcome,
    valid_term_before: str,
    refresh_id: int | None,
) -> RefreshResult:
    masked = MASK_PREFIX + vault_row.masked[-4:]
    return RefreshResult(
        customer_id=row.customer_id,
        customer_card_id=row.id,
        site_id=row.site_id,
        outcome=outcome,
        masked_before=masked,
        masked_after=masked,
        valid_term_before=valid_term_before,
        valid_term_after=row.card_valid_term,
        refresh_id=refresh_id,
    )


def _vault_row(session: Session, row: StoredCard) -> VaultCard:
    vault_row = session.get(VaultCard, row.vault_card_id, with_for_update=True)
    assert vault_row is not None
    return vault_row


# ---------------------------------------------------------------- a merchant's cards


def refresh_merchant(
    core: Core,
    merchant: MerchantRef,
    *,
    trigger: Trigger = Trigger.CLI,
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> RefreshSummary:
    """Refresh every usable stored card of the merchant (not deleted, not closed), `chunk` cards
    at a time: one transaction writes their inquiries ahead, the updater is asked about each
    outside any transaction, one transaction applies the answers. An interrupted run keeps the
    chunks it applied (a cut-off chunk's inquiries are closed as `unknown` by the next run). A card
    another run is asking about, or one deleted meanwhile, is SKIPPED with its code; P007 stops
    the run before anything is written."""
    core.updater_for(merchant)
    cards = _usable_cards(core, merchant.id)
    results: list[RefreshResult] = []
    for start in range(0, len(cards), chunk):
        refs = [(c, i, s) for i, c, s in cards[start : start + chunk]]
        results += refresh_cards(core, merchant, refs, trigger=trigger)
        if progress is not None:
            progress(len(results), len(cards))
    counts = {outcome.value: 0 for outcome in RefreshOutcome}
    for result in results:
        counts[result.outcome.value] += 1
    log.info(
        "card refresh run finished",
        extra={"merchant_id": merchant.id, "cards": len(results), **counts},
    )
    return RefreshSummary(merchant.id, tuple(results), counts)


def refresh_cards(
    core: Core,
    merchant: MerchantRef,
    refs: list[tuple[str, int, str]],
    *,
    trigger: Trigger,
) -> list[RefreshResult]:
    """Refresh a few of the merchant's stored cards, named `(customer_id, customer_card_id,
    site_id)`, in two transactions: write ahead for every card (each in a savepoint: a refused
    card is SKIPPED with its code and does not stop the others), ask, then apply every answer.
    P007 for a merchant no updater serves, before anything is written."""
    updater = core.updater_for(merchant)
    done: dict[int, RefreshResult] = {}
    waiting: list[tuple[tuple[str, int, str], _Asked]] = []
    with core.sessions.begin() as session:
        for ref in refs:
            try:
                with session.begin_nested():
                    asked = _write_ahead_in(session, core, merchant, ref, trigger)
            except KessaiError as error:
                done[ref[1]] = _skipped(ref, error.code)
                continue
            if isinstance(asked, RefreshResult):
                done[ref[1]] = asked
            else:
                waiting.append((ref, asked))
    answers = [
        (ref, asked, updater.inquire(idempotency_key=asked.key, card=asked.card))
        for ref, asked in waiting
    ]
    with core.sessions.begin() as session:
        for ref, asked, answer in answers:
            done[ref[1]] = _apply_in(session, core, merchant, ref, asked, answer)
    return [done[ref[1]] for ref in refs]


def _skipped(ref: tuple[str, int, str], code: str) -> RefreshResult:
    customer_id, customer_card_id, site_id = ref
    return RefreshResult(
        customer_id=customer_id,
        customer_card_id=customer_card_id,
        site_id=site_id,
        outcome=RefreshOutcome.SKIPPED,
        masked_before="",
        masked_after="",
        valid_term_before="",
        valid_term_after="",
        response_code=code,
    )


def _usable_cards(core: Core, merchant_id: int) -> list[tuple[int, str, str]]:
    with core.sessions() as session:
        rows = session.execute(
            select(StoredCard.id, StoredCard.customer_id, StoredCard.site_id)
            .where(
                StoredCard.merchant_id == merchant_id,
                StoredCard.deleted_at.is_(None),
                StoredCard.closed_at.is_(None),
            )
            .order_by(StoredCard.id)
        ).all()
    return [(int(card_id), customer_id, site_id) for card_id, customer_id, site_id in rows]


# ---------------------------------------------------------------- history


@dataclass(frozen=True, slots=True)
class RefreshEntry:
    """One line of a stored card's 洗替 history (masked)."""

    asked_at: datetime
    answered_at: datetime | None
    trigger: str
    outcome: str  # "" while asking
    old_last4: str
    new_last4: str
    old_valid_term: str
    new_valid_term: str


def history(core: Core, merchant: MerchantRef, customer_card_id: int) -> list[RefreshEntry]:
    """The card's 洗替 history, newest first; empty for another merchant's card."""
    with core.sessions() as session:
        rows = session.scalars(
            select(CardRefresh)
            .where(
                CardRefresh.merchant_id == merchant.id,
                CardRefresh.stored_card_id == customer_card_id,
            )
            .order_by(CardRefresh.asked_at.desc(), CardRefresh.id.desc())
        ).all()
        return [
            RefreshEntry(
                asked_at=as_utc(row.asked_at),
                answered_at=as_utc(row.answered_at) if row.answered_at else None,
                trigger=row.trigger,
                outcome=row.outcome,
                old_last4=row.old_last4,
                new_last4=row.new_last4,
                old_valid_term=row.old_valid_term,
                new_valid_term=row.new_valid_term,
            )
            for row in rows
        ]
