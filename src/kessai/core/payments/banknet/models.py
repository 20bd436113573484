"""A bank net application (銀行ネット決済ASP申込, telegrams 060/050): what the merchant asked for,
before and across the payments the buyer's bank choices make (one payment_id per choice)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID


class BankNetRequest(Base):
    """One per (merchant, trading_id): a second 060 for the same trading_id answers 5008/5009/5010
    from this row, and the unique key settles two arriving at once."""

    __tablename__ = "bank_net_requests"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    trading_id: Mapped[str] = mapped_column(String(25))
    site_id: Mapped[str] = mapped_column(String(4), default="")
    amount: Mapped[int] = mapped_column(Integer)
    claim_kana: Mapped[str] = mapped_column(String(24))
    claim_kanji: Mapped[str] = mapped_column(String(24))
    # 050: the bank the merchant chose (no selection page); "" for 060.
    bank_code: Mapped[str] = mapped_column(String(4), default="")
    # Names, receipt names, return URLs, page texts: shown and used, never searched.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Payments made so far (bank choices); at most MAX_SELECTIONS (5011).
    selections: Mapped[int] = mapped_column(Integer, default=0)
    # The payment the bank's completion notice cleared; at most one per application.
    paid_payment_id: Mapped[int | None] = mapped_column(BigID, nullable=True)
    limit_at: Mapped[datetime] = mapped_column(UTCDateTime)  # asp_limit_date: banks choosable
    payment_limit_at: Mapped[datetime] = mapped_column(UTCDateTime)  # asp_payment_limit_date
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # trade_generation_date

    __table_args__ = (UniqueConstraint("merchant_id", "trading_id"),)
