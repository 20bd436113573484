"""Stored cards (カード情報お預かり): 025 register, 116 update, 026 delete, 027 inquiry, and the card
sources of 020 (stored card, ref_trading_id). At most 10 cards per customer (P023)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kessai.connectors.base import CardData
from kessai.core.cards.models import StoredCard, VaultCard
from kessai.core.context import Core, MerchantRef
from kessai.core.payments import repository
from kessai.core.payments.card import commands
from kessai.core.payments.card.commands import AuthorizeRequest
from kessai.core.payments.card.states import CardOperation
from kessai.core.payments.views import OperationResult
from kessai.kit.clock import JST, as_utc
from kessai.kit.errors import Declined, InvalidRequest, NotFound

MAX_CARDS_PER_CUSTOMER = 10
# A card 洗替 found closed answers what its issuer would (2001, CAFIS 1G12 取扱不可（カード使用不可）),
# without the acquirer being asked: merchants already handle it as "ask for another card".
CLOSED_CARD_CODE = "2001"
CLOSED_CARD_DETAIL = "1G12"
# Validity checks are the usual 1-yen authorisation (1円オーソリ); the payment (22) cannot be captured.
VALIDITY_CHECK_AMOUNT = 1


@dataclass(frozen=True, slots=True)
class StoredCardView:
    customer_card_id: int
    customer_id: str
    masked_card_number: str
    card_valid_term: str
    card_brand: str
    cardholder_name: str
    add_info: tuple[str, str, str, str]
    last_used_at: datetime
    fingerprint: str
    valid_check_result: str
    valid_check_date: datetime | None
    issur_name: str
    expired: bool
    closed: bool = False  # 洗替 said the account is closed: it cannot pay any more
    refresh_result: str = ""  # the last 洗替 answer (`updater.RefreshOutcome`), "" never asked
    refreshed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RegisterResult:
    card: StoredCardView | None
    num_of_cards: int
    check: OperationResult | None = None  # the validity-check authorisation, when asked


@dataclass(frozen=True, slots=True)
class CardDetails:
    """What 025/116 may set beside the number."""

    card_brand: str = ""
    cardholder_name: str = ""
    add_info: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None)


def register(
    core: Core,
    merchant: MerchantRef,
    *,
    customer_id: str,
    site_id: str,
    card: CardData,
    details: CardDetails,
    valid_check: bool,
) -> RegisterResult:
    """Keep a card for a customer (025), optionally checking it with an authorisation first."""
    with core.sessions() as session:
        _check_room(session, merchant.id, site_id, customer_id)
    check = None
    vault_card_id: int | None = None
    if valid_check:
        check = commands.authorize(
            core,
            merchant,
            AuthorizeRequest(
                trading_id="",
                amount=VALIDITY_CHECK_AMOUNT,
                card=card,
                site_id=site_id,
                operation=CardOperation.VALIDITY_CHECK,
                customer_id=customer_id,
            ),
        )
        if not check.ok or check.payment is None:
            return RegisterResult(None, _count(core, merchant.id, site_id, customer_id), check)
        vault_card_id = check.payment.vault_card_id
    with core.sessions.begin() as session:
        now = core.clock.now()
        _check_room(session, merchant.id, site_id, customer_id)
        vault_row = (
            session.get(VaultCard, vault_card_id)
            if vault_card_id
            else core.vault.store(session, card.number)
        )
        assert vault_row is not None
        row = _new_row(merchant.id, site_id, customer_id, vault_row, card.valid_term, details, now)
        if check is not None and check.payment is not None:
            row.valid_check_result, row.valid_check_date = "0", now
            row.issur_name = check.payment.detail("issur_name")
        session.add(row)
        session.flush()
        view = _view(row, vault_row, now)
        count = _live_count(session, merchant.id, site_id, customer_id)
    return RegisterResult(view, count, check)


def keep(
    core: Core,
    merchant: MerchantRef,
    *,
    customer_id: str,
    site_id: str,
    vault_card_id: int,
    valid_term: str,
    cardholder_name: str,
) -> StoredCardView | None:
    """Keep a card that has just paid (the hosted page's "save this card"): its vault row is reused,
    a card the customer has stored already is only refreshed, and a customer with 10 cards keeps
    them as they are (None). The payment stands whatever happens here."""
    with core.sessions.begin() as session:
        now = core.clock.now()
        vault_row = session.get(VaultCard, vault_card_id)
        assert vault_row is not None
        for row in _live(session, merchant.id, site_id, customer_id):
            known = session.get(VaultCard, row.vault_card_id)
            if known is not None and known.fingerprint == vault_row.fingerprint:
                row.card_valid_term, row.last_used_at = valid_term, now
                return _view(row, known, now)
        if _live_count(session, merchant.id, site_id, customer_id) >= MAX_CARDS_PER_CUSTOMER:
            return None
        details = CardDetails(cardholder_name=cardholder_name)
        row = _new_row(merchant.id, site_id, customer_id, vault_row, valid_term, details, now)
        session.add(row)
        session.flush()
        return _view(row, vault_row, now)


def _new_row(
    merchant_id: int,
    site_id: str,
    customer_id: str,
    vault_row: VaultCard,
    valid_term: str,
    details: CardDetails,
    now: datetime,
) -> StoredCard:
    info = [value or "" for value in details.add_info]
    return StoredCard(
        merchant_id=merchant_id,
        site_id=site_id,
        customer_id=customer_id,
        vault_card_id=vault_row.id,
        card_valid_term=valid_term,
        card_brand=details.card_brand or vault_row.brand,
        cardholder_name=details.cardholder_name,
        add_info1=info[0],
        add_info2=info[1],
        add_info3=info[2],
        add_info4=info[3],
        valid_check_result="",
        last_used_at=now,
        created_at=now,
        valid_check_count=0,
        refresh_result="",
    )


def update(
    core: Core,
    merchant: MerchantRef,
    *,
    customer_id: str,
    customer_card_id: int,
    site_id: str,
    valid_term: str | None,
    details: CardDetails,
    cardholder_given: bool,
) -> tuple[StoredCardView, int]:
    """Change a stored card's expiry, holder or memo fields (116). `None` leaves a field as is."""
    with core.sessions.begin() as session:
        now = core.clock.now()
        row = _get(session, merchant.id, site_id, customer_id, customer_card_id, "P022")
        if valid_term is not None:
            row.card_valid_term = valid_term
        if cardholder_given:
            row.cardholder_name = details.cardholder_name
        for index, value in enumerate(details.add_info, start=1):
            if value is not None:
                setattr(row, f"add_info{index}", value)
        vault_row = session.get(VaultCard, row.vault_card_id)
        assert vault_row is not None
        return _view(row, vault_row, now), _live_count(session, merchant.id, site_id, customer_id)


def delete(
    core: Core,
    merchant: MerchantRef,
    *,
    customer_id: str,
    customer_card_id: int | None,
    site_id: str,
) -> int:
    """Delete one stored card, or all the customer's when no card ID is given (026)."""
    with core.sessions.begin() as session:
        now = core.clock.now()
        if customer_card_id is None:
            rows = _live(session, merchant.id, site_id, customer_id)
            if not rows:
                raise NotFound("P022")
        else:
            rows = [_get(session, merchant.id, site_id, customer_id, customer_card_id, "P022")]
        for row in rows:
            row.deleted_at = now
        session.flush()
        return _live_count(session, merchant.id, site_id, customer_id)


def inquire(
    core: Core,
    merchant: MerchantRef,
    *,
    customer_id: str,
    customer_card_id: int | None,
    site_id: str,
) -> list[StoredCardView]:
    """The customer's cards, most recently used first (027); P026 when there are none."""
    with core.sessions() as session:
        now = core.clock.now()
        rows = _live(session, merchant.id, site_id, customer_id)
        if customer_card_id is not None:
            rows = [row for row in rows if row.id == customer_card_id]
        if not rows:
            raise NotFound("P026")
        vault = {
            v.id: v
            for v in session.scalars(
                select(VaultCard).where(VaultCard.id.in_([row.vault_card_id for row in rows]))
            )
        }
        return [_view(row, vault[row.vault_card_id], now) for row in rows]


def list_for_merchant(
    core: Core, merchant: MerchantRef, *, limit: int
) -> tuple[list[StoredCardView], int]:
    """The merchant's live stored cards for the console, newest first (at most `limit`), and how
    many there are."""
    live = (StoredCard.merchant_id == merchant.id, StoredCard.deleted_at.is_(None))
    with core.sessions() as session:
        now = core.now_for(merchant)
        total = session.scalar(select(func.count()).where(*live)) or 0
        pairs = session.execute(
            select(StoredCard, VaultCard)
            .join(VaultCard, VaultCard.id == StoredCard.vault_card_id)
            .where(*live)
            .order_by(StoredCard.id.desc())
            .limit(limit)
        ).all()
        return [_view(row, vault_row, now) for row, vault_row in pairs], int(total)


def get_for_merchant(core: Core, merchant: MerchantRef, customer_card_id: int) -> StoredCardView:
    """One live stored card of the merchant (another merchant's answers P022, as a missing one)."""
    with core.sessions() as session:
        row = session.get(StoredCard, customer_card_id)
        if row is None or row.merchant_id != merchant.id or row.deleted_at is not None:
            raise NotFound("P022")
        vault_row = session.get(VaultCard, row.vault_card_id)
        assert vault_row is not None
        return _view(row, vault_row, core.now_for(merchant))


# ---------------------------------------------------------------- card sources for 020


def stored_card_source(
    core: Core, merchant: MerchantRef, *, customer_id: str, customer_card_id: int, site_id: str
) -> tuple[int, str]:
    """The vault row and expiry of a stored card used for a payment (stock_card_mode=1); a card
    洗替 found closed is refused here (2001/1G12), before any payment or acquirer call."""
    with core.sessions.begin() as session:
        row = _get(session, merchant.id, site_id, customer_id, customer_card_id, "P025")
        if row.closed_at is not None:
            raise Declined(CLOSED_CARD_CODE, detail=CLOSED_CARD_DETAIL)
        row.last_used_at = core.clock.now()
        return row.vault_card_id, row.card_valid_term


def ref_trading_source(
    core: Core, merchant: MerchantRef, *, ref_trading_id: str
) -> tuple[int, str]:
    """The card of an earlier payment (ref_trading_id); 2009 if there is none usable."""
    with core.sessions() as session:
        payment = repository.latest_card_payment_by_trading_id(
            session, merchant_id=merchant.id, trading_id=ref_trading_id
        )
        if payment is None or payment.vault_card_id is None:
            raise InvalidRequest("2009")
        return payment.vault_card_id, str((payment.details or {}).get("card_valid_term", ""))


# ---------------------------------------------------------------- helpers


def lock(
    session: Session, merchant_id: int, *, site_id: str, customer_id: str, customer_card_id: int
) -> StoredCard:
    """A live stored card of the merchant, locked for an update (P022 if there is none)."""
    return _get(session, merchant_id, site_id, customer_id, customer_card_id, "P022")


def view(row: StoredCard, vault_row: VaultCard, now: datetime) -> StoredCardView:
    """The stored card as 027 and the console show it."""
    return _view(row, vault_row, now)


def _live(session: Session, merchant_id: int, site_id: str, customer_id: str) -> list[StoredCard]:
    return list(
        session.scalars(
            select(StoredCard)
            .where(
                StoredCard.merchant_id == merchant_id,
                StoredCard.site_id == site_id,
                StoredCard.customer_id == customer_id,
                StoredCard.deleted_at.is_(None),
            )
            .order_by(StoredCard.last_used_at.desc(), StoredCard.id.desc())
        )
    )


def _live_count(session: Session, merchant_id: int, site_id: str, customer_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                StoredCard.merchant_id == merchant_id,
                StoredCard.site_id == site_id,
                StoredCard.customer_id == customer_id,
                StoredCard.deleted_at.is_(None),
            )
        )
        or 0
    )


def _count(core: Core, merchant_id: int, site_id: str, customer_id: str) -> int:
    with core.sessions() as session:
        return _live_count(session, merchant_id, site_id, customer_id)


def _check_room(session: Session, merchant_id: int, site_id: str, customer_id: str) -> None:
    if _live_count(session, merchant_id, site_id, customer_id) >= MAX_CARDS_PER_CUSTOMER:
        raise InvalidRequest("P023")


def _get(
    session: Session, merchant_id: int, site_id: str, customer_id: str, card_id: int, code: str
) -> StoredCard:
    row = session.get(StoredCard, card_id, with_for_update=True)
    if (
        row is None
        or row.deleted_at is not None
        or row.merchant_id != merchant_id
        or row.site_id != site_id
        or row.customer_id != customer_id
    ):
        raise NotFound(code)
    return row


def _view(row: StoredCard, vault_row: VaultCard, now: datetime) -> StoredCardView:
    return StoredCardView(
        customer_card_id=row.id,
        customer_id=row.customer_id,
        masked_card_number="*" * 12 + vault_row.masked[-4:],
        card_valid_term=row.card_valid_term,
        card_brand=row.card_brand,
        cardholder_name=row.cardholder_name,
        add_info=(row.add_info1, row.add_info2, row.add_info3, row.add_info4),
        last_used_at=as_utc(row.last_used_at),
        fingerprint=vault_row.fingerprint,
        valid_check_result=row.valid_check_result,
        valid_check_date=row.valid_check_date,
        issur_name=row.issur_name,
        expired=_expired(row.card_valid_term, now),
        closed=row.closed_at is not None,
        refresh_result=row.refresh_result,
        refreshed_at=as_utc(row.refreshed_at) if row.refreshed_at else None,
    )


def _expired(valid_term: str, now: datetime) -> bool:
    """MMYY before this month (Japan time)."""
    if len(valid_term) != 4 or not valid_term.isdigit():
        return False
    today = as_utc(now).astimezone(JST)
    return (2000 + int(valid_term[2:]), int(valid_term[:2])) < (today.year, today.month)
