"""Card data at rest: sealed card numbers (the vault) and stored cards (カード情報お預かり)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID


class VaultCard(Base):
    """One card number, encrypted with its own data key (AES-256-GCM); the data key is wrapped by a
    master key named by `key_id`. Rotation re-wraps `wrapped_key` only. No security code, ever."""

    __tablename__ = "vault_cards"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # HMAC-SHA-256 of the number under a fingerprint key: "same card" without decrypting.
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    masked: Mapped[str] = mapped_column(String(19))  # first 6 + last 4 at most
    brand: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoredCard(Base):
    """A card kept for a merchant's customer; `id` is PAYGENT's customer_card_id."""

    __tablename__ = "stored_cards"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    site_id: Mapped[str] = mapped_column(String(4), default="")
    customer_id: Mapped[str] = mapped_column(String(25))
    vault_card_id: Mapped[int] = mapped_column(ForeignKey("vault_cards.id"))
    card_valid_term: Mapped[str] = mapped_column(String(4))
    card_brand: Mapped[str] = mapped_column(String(24), default="")
    cardholder_name: Mapped[str] = mapped_column(String(64), default="")
    add_info1: Mapped[str] = mapped_column(String(64), default="")
    add_info2: Mapped[str] = mapped_column(String(64), default="")
    add_info3: Mapped[str] = mapped_column(String(64), default="")
    add_info4: Mapped[str] = mapped_column(String(64), default="")
    valid_check_result: Mapped[str] = mapped_column(String(1), default="")
    valid_check_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    issur_name: Mapped[str] = mapped_column(String(64), default="")
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_check_count: Mapped[int] = mapped_column(Integer, default=0)
    # 洗替 (account updater, `updater.py`): the last answer, when it came, and since when the card is
    # closed (unusable: 020 with it answers 2001/1G12 without reaching the acquirer).
    refresh_result: Mapped[str] = mapped_column(String(24), default="")
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_stored_cards_customer", "merchant_id", "site_id", "customer_id"),)


class CardRefresh(Base):
    """One 洗替 inquiry about a stored card and its answer: the stored card's history.

    Written as `asking` before the updater is called (write-ahead) and completed with the answer
    in the transaction that applies it. Only masked facts are kept: last four digits and expiries,
    never a card number."""

    __tablename__ = "card_refreshes"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    stored_card_id: Mapped[int] = mapped_column(ForeignKey("stored_cards.id"))
    idempotency_key: Mapped[str] = mapped_column(String(40), unique=True)
    trigger: Mapped[str] = mapped_column(String(16))  # cli, file, console, schedule
    status: Mapped[str] = mapped_column(String(16))  # asking → answered
    outcome: Mapped[str] = mapped_column(String(24), default="")  # a `RefreshOutcome` value
    old_last4: Mapped[str] = mapped_column(String(4))
    new_last4: Mapped[str] = mapped_column(String(4), default="")
    old_valid_term: Mapped[str] = mapped_column(String(4))
    new_valid_term: Mapped[str] = mapped_column(String(4), default="")
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_card_refreshes_card", "stored_card_id", "asked_at"),
        Index("ix_card_refreshes_merchant", "merchant_id", "asked_at"),
    )


class CardRefreshSchedule(Base):
    """A merchant's monthly 洗替 (off unless a row exists): from `day` of each month (Japan time)
    the worker refreshes the merchant's cards not yet asked about that month."""

    __tablename__ = "card_refresh_schedules"

    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id"), primary_key=True, autoincrement=False
    )
    day: Mapped[int] = mapped_column(Integer)  # 1–28: every month has it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
