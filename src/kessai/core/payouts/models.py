"""A merchant's payout settings: the cycle and the bank account payouts are transferred to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime


class PayoutSettings(Base):
    """One row per merchant that has any payout setting; a column is null until it is set."""

    __tablename__ = "payout_settings"

    merchant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("merchants.id"), primary_key=True, autoincrement=False
    )
    cycle: Mapped[str | None] = mapped_column(String(16), nullable=True)
    closing_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payout_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bank_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    # The Zengin directory's names in half-width katakana, as the transfer file carries them.
    bank_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    branch_code: Mapped[str | None] = mapped_column(String(3), nullable=True)
    branch_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    account_type: Mapped[str | None] = mapped_column(String(1), nullable=True)
    account_number: Mapped[str | None] = mapped_column(String(7), nullable=True)
    account_holder: Mapped[str | None] = mapped_column(String(30), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
