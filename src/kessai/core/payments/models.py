"""Payments (決済), the operations sent to institutions, and the append-only event history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID


class Payment(Base):
    """What the merchant sees: one per payment_id, holding method, amount and PAYGENT status."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)  # payment_id
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    trading_id: Mapped[str] = mapped_column(String(25), default="")
    site_id: Mapped[str] = mapped_column(String(4), default="")
    payment_type: Mapped[str] = mapped_column(String(2))  # 02 card, 03 CVS…
    amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(2))  # PAYGENT status code (10, 20, 40…)
    # Card: the acquirer's reference of the live authorisation/capture.
    institution_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    institution_code: Mapped[str] = mapped_column(String(16), default="")  # acq_id
    institution_name: Mapped[str] = mapped_column(String(64), default="")  # acq_name
    vault_card_id: Mapped[int | None] = mapped_column(
        ForeignKey("vault_cards.id"), nullable=True, index=True
    )
    related_payment_id: Mapped[int | None] = mapped_column(BigID, nullable=True)
    # Notices written for this payment so far: the next one's per-payment sequence number.
    notice_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    authorized_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Payment deadline (支払期限) of methods paid later (ATM, CVS…): 23:59:59 Japan time that day.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        # varchar_pattern_ops on PostgreSQL: the same index answers trading_id = … (telegrams) and
        # the console's prefix search LIKE 'abc%' under any database collation (migration 0010).
        Index(
            "ix_payments_merchant_trading",
            "merchant_id",
            "trading_id",
            postgresql_ops={"trading_id": "varchar_pattern_ops"},
        ),
        Index("ix_payments_status_due", "status", "due_at"),
        # The console's search: one merchant's payments by date (取引日時, 支払期限日, 消込日時) and
        # by status, newest first (bench/console_search.py measures them on 1M payments).
        Index("ix_payments_merchant_created", "merchant_id", "created_at"),
        Index("ix_payments_merchant_status_created", "merchant_id", "status", "created_at"),
        Index("ix_payments_merchant_due", "merchant_id", "due_at"),
        Index("ix_payments_merchant_captured", "merchant_id", "captured_at"),
    )


class PaymentOperation(Base):
    """One request to an institution. Written `sending` before the call, settled after it."""

    __tablename__ = "payment_operations"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # authorize, capture, void, refund…
    status: Mapped[str] = mapped_column(
        String(16)
    )  # sending, succeeded, declined, not_sent, unknown
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    response_code: Mapped[str] = mapped_column(String(8), default="")
    response_detail: Mapped[str] = mapped_column(String(256), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The file line (`payment_file_lines.id`) whose run opened it, for a one-operation file type:
    # what a line cut off mid-call did is read from here (files.process.recover_stale).
    file_line_id: Mapped[int | None] = mapped_column(BigID, nullable=True, default=None)

    __table_args__ = (
        # At most one unsettled operation per payment: the database enforces what the row lock
        # cannot once transaction 1 has committed.
        Index(
            "uq_payment_operations_open",
            "payment_id",
            unique=True,
            sqlite_where=text("status IN ('sending', 'unknown')"),
            postgresql_where=text("status IN ('sending', 'unknown')"),
        ),
        # A file line opens at most one operation: run twice, it still reaches no one twice.
        Index(
            "uq_payment_operations_file_line",
            "file_line_id",
            unique=True,
            sqlite_where=text("file_line_id IS NOT NULL"),
            postgresql_where=text("file_line_id IS NOT NULL"),
        ),
    )


class PaymentEvent(Base):
    """Append-only history: every status change and every refused or repeated operation."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    operation: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str] = mapped_column(String(2))
    to_status: Mapped[str] = mapped_column(String(2))
    amount: Mapped[int] = mapped_column(Integer)
    response_code: Mapped[str] = mapped_column(String(8), default="")
    response_detail: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
