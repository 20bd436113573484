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

    __table_args__ = (Index("ix_stored_cards_customer", "merchant_id", "site_id", "customer_id"),)
