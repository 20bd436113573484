"""Statements and their lines, and the fee terms they are closed with.

A statement is written once, by `close`, and never changed; its numbers are what its entries (the
ledger rows stamped with its id) add up to. Fee schedules and payout fee terms are histories: a
change is a new row effective from a date, so closed statements keep the fees they were closed with.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID, SumYen


class Statement(Base):
    """A payout statement (支払明細): one merchant's closed period, numbered per merchant."""

    __tablename__ = "statements"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … per merchant
    period_from: Mapped[date | None] = mapped_column(Date, nullable=True)  # None: the first one
    period_through: Mapped[date] = mapped_column(Date)
    payout_date: Mapped[date] = mapped_column(Date)
    fees_total: Mapped[int] = mapped_column(SumYen)  # tax excluded (税抜)
    transfer_fee: Mapped[int] = mapped_column(SumYen)
    monthly_fee: Mapped[int] = mapped_column(SumYen)
    tax_rate_percent: Mapped[int] = mapped_column(Integer)
    tax: Mapped[int] = mapped_column(SumYen)
    adjustments: Mapped[int] = mapped_column(SumYen)
    carried_in: Mapped[int] = mapped_column(SumYen)
    payout_amount: Mapped[int] = mapped_column(SumYen)
    carried_forward: Mapped[int] = mapped_column(SumYen)
    registration_number: Mapped[str] = mapped_column(String(14))  # 適格請求書発行事業者登録番号
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("merchant_id", "number"),
        CheckConstraint("payout_amount >= 0", name="payout_not_negative"),
    )


class StatementLine(Base):
    """One method's sales on a statement."""

    __tablename__ = "statement_lines"

    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), primary_key=True)
    payment_type: Mapped[str] = mapped_column(String(2), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)  # sales (captures, payments received)
    gross: Mapped[int] = mapped_column(SumYen)
    refunds: Mapped[int] = mapped_column(SumYen)
    fees: Mapped[int] = mapped_column(SumYen)  # net of fees returned on refunds, tax excluded


class FeeSchedule(Base):
    """A merchant's fee for one method (and card brand; "" = every brand) from a date on."""

    __tablename__ = "fee_schedules"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    payment_type: Mapped[str] = mapped_column(String(2))
    brand: Mapped[str] = mapped_column(String(16))
    rate_bp: Mapped[int] = mapped_column(Integer)  # 0.01 % steps: 325 = 3.25 %
    fixed: Mapped[int] = mapped_column(Integer)  # yen per sale
    effective_from: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("rate_bp >= 0 AND rate_bp < 10000", name="rate"),
        CheckConstraint("fixed >= 0", name="fixed"),
        Index("ix_fee_schedules_lookup", "merchant_id", "payment_type", "brand", "effective_from"),
    )


class PayoutFeeTerms(Base):
    """A merchant's per-payout bank transfer fee (振込手数料) and monthly fixed fee from a date on."""

    __tablename__ = "payout_fee_terms"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    transfer_fee: Mapped[int] = mapped_column(Integer)
    monthly_fee: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("transfer_fee >= 0 AND monthly_fee >= 0", name="fees"),
        Index("ix_payout_fee_terms_lookup", "merchant_id", "effective_from"),
    )
