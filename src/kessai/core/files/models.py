"""A submitted file (`payment_files`) and its lines (`payment_file_lines`).

A line's own request is kept as JSON of its validated fields, with any card number replaced by
the id of a sealed vault card (`vault_card_id`): the number is never stored in the clear here.
A file type with result columns of its own (024) keeps a line's under `RESULT_COLUMNS_KEY` in the
same JSON once the line has run (no telegram field has that name).
Each line is unique by (file, line number), and its status says how far it got:
`pending` → `claimed` (a worker took it into a chunk) → `running` (written before its command is
called: the write-ahead mark) → `done`; or `cancelled` (never run).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID

RESULT_COLUMNS_KEY = "result_columns"


class PaymentFile(Base):
    """One file of a merchant: `queued` → `running` → `done`, or `cancelled`."""

    __tablename__ = "payment_files"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    receipt_id: Mapped[str] = mapped_column(String(9))  # file_receipt_id
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    file_type: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the file's bytes (duplicate_check)
    total_lines: Mapped[int] = mapped_column(Integer)
    done_lines: Mapped[int] = mapped_column(Integer, default=0)
    error_lines: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When a worker last took a chunk of it: the file waiting longest goes next (fair turns).
    turn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("receipt_id", name="uq_payment_files_receipt_id"),
        Index("ix_payment_files_merchant_digest", "merchant_id", "digest"),
        Index("ix_payment_files_status_turn", "status", "turn_at"),
    )


class PaymentFileLine(Base):
    """One request of a file and, once run, its outcome as the result file shows it."""

    __tablename__ = "payment_file_lines"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("payment_files.id"))
    line_no: Mapped[int] = mapped_column(Integer)  # the line in the file (the header is line 1)
    status: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    vault_card_id: Mapped[int | None] = mapped_column(ForeignKey("vault_cards.id"), nullable=True)
    result: Mapped[str] = mapped_column(String(1), default="")
    response_code: Mapped[str] = mapped_column(String(8), default="")
    response_detail: Mapped[str] = mapped_column(String(256), default="")
    payment_id: Mapped[str] = mapped_column(String(18), default="")
    customer_card_id: Mapped[str] = mapped_column(String(18), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("file_id", "line_no", name="uq_payment_file_lines_line"),
        Index("ix_payment_file_lines_status", "file_id", "status", "line_no"),
    )
