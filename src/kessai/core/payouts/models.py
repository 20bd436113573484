"""A merchant's payout settings (the cycle and the bank account payouts are transferred to), and
the payouts written into bank files."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID, SumYen


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


class PayoutTransfer(Base):
    """A statement's payout as a bank file wrote it: the date, the amount and the account.

    One row per statement (its primary key): a payout goes into one bank file only. A payout held
    (no usable account) has no row until a later file writes it. `kessai payouts mark-paid` books
    what these rows say — what the file contained — not what the accounts say now."""

    __tablename__ = "payout_transfers"

    statement_id: Mapped[int] = mapped_column(
        BigID, ForeignKey("statements.id"), primary_key=True, autoincrement=False
    )
    merchant_id: Mapped[int] = mapped_column(Integer, ForeignKey("merchants.id"))
    transfer_date: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[int] = mapped_column(SumYen)
    bank_code: Mapped[str] = mapped_column(String(4))
    bank_name: Mapped[str] = mapped_column(String(64))
    branch_code: Mapped[str] = mapped_column(String(3))
    branch_name: Mapped[str] = mapped_column(String(64))
    account_type: Mapped[str] = mapped_column(String(1))
    account_number: Mapped[str] = mapped_column(String(7))
    account_holder: Mapped[str] = mapped_column(String(30))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
