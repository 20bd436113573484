"""Kept reconciliations: who ran one on which file (name and SHA-256), over which period and
columns, what each class counted and added up to, and every result row, so it can be reopened."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID


class Reconciliation(Base):
    """One run of a merchant's order list against its payments (消し込み)."""

    __tablename__ = "reconciliations"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    created_by: Mapped[str] = mapped_column(String(64))  # console login id, or "cli"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str] = mapped_column(String(16))
    period_from: Mapped[date | None] = mapped_column(Date, nullable=True)  # JST; None: open
    period_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    columns: Mapped[dict[str, Any]] = mapped_column(JSON)  # the ColumnMap used
    order_lines: Mapped[int] = mapped_column(Integer)
    payments: Mapped[int] = mapped_column(Integer)  # payments of the period
    # Per class: {"count", "order_amount", "paid_amount", "payments"} (yen as integers).
    totals: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_reconciliations_merchant", "merchant_id", "created_at"),)


class ReconciliationRow(Base):
    """One result row: an order line (its class by its 取引ID, or a listing after the first), or
    the payments of a 取引ID no order line names. `seq` orders them as the file did."""

    __tablename__ = "reconciliation_rows"

    reconciliation_id: Mapped[int] = mapped_column(
        ForeignKey("reconciliations.id"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    trading_id: Mapped[str] = mapped_column(String(25))
    cls: Mapped[str] = mapped_column(String(24))
    order_line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    order_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    expected_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    method: Mapped[str | None] = mapped_column(String(32), nullable=True)
    paid_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    difference: Mapped[int] = mapped_column(BigInteger)
    payments: Mapped[int] = mapped_column(Integer)  # how many payments this row carries
    payment_ids: Mapped[str] = mapped_column(Text)  # "12,15": ascending
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    statement_id: Mapped[int | None] = mapped_column(BigID, nullable=True)
    payout_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    overdue: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_reconciliation_rows_class", "reconciliation_id", "cls", "seq"),)
