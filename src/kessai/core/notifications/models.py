"""The outbox: one notice per status change, written in the transaction that made the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID

# The delivery states that hold back a payment's later notices (core.notifications.delivery).
BLOCKING = ("pending", "delivering", "failed")
BLOCKING_SQL = "delivery_status IN ('pending', 'delivering', 'failed')"


class NoticeCounter(Base):
    """The last payment_notice_id handed out to a merchant.

    A table of its own, with no foreign key pointing at it: every status change bumps it under a row
    lock held to commit, so it must be as small as possible and must not be the merchants row, which
    every payment insert references (measured: 745 → 1,008 transactions/s at 16 clients)."""

    __tablename__ = "notice_counters"

    merchant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_notice_id: Mapped[int] = mapped_column(BigInteger)


class Notice(Base):
    """A payment status change as the merchant will be told (091 pull and the §1.6 push)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    payment_notice_id: Mapped[int] = mapped_column(BigInteger)  # per-merchant sequence from 1
    # NULL for a file payment notice (kind "file"): it tells of a file, not of a payment.
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    # "payment" (§1.6, signed over the payment's fields) or "file" (the file payment notice, §1.5
    # 200/201, signed over its own). 091 pull reads payment notices only.
    kind: Mapped[str] = mapped_column(String(8), default="payment", server_default="payment")
    payment_seq: Mapped[int] = mapped_column(Integer)  # per-payment order, for dropping stale ones
    payment_status: Mapped[str] = mapped_column(String(2))
    # The 091 notice fields at the time of the change, frozen.
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    site_id: Mapped[str] = mapped_column(String(4), default="", server_default="")
    # Where the push goes when not to the merchant's notification URL: the `inform_url` of the link
    # request its payment was made on (merchants' inform_url_mode "replace"), fixed when written.
    push_url: Mapped[str | None] = mapped_column(String(512), nullable=True)
    # Push delivery (§1.6), issue #4: pending → delivering (leased) → delivered | failed.
    # "skipped": no push_url and the merchant has no notification URL (091 pull only).
    delivery_status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(String(256), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("merchant_id", "payment_notice_id", name="uq_notices_merchant_seq"),
        Index("ix_notices_due", "delivery_status", "next_attempt_at"),
        # A payment's notices in order (0022).
        Index("ix_notices_payment_seq", "payment_id", "payment_seq"),
        # The claim's "an earlier notice of this payment is not delivered" probe, one per due
        # candidate: only the notices that block (0022), so no plan ANDs it with ix_notices_due.
        Index(
            "ix_notices_blocking",
            "payment_id",
            "payment_seq",
            postgresql_where=text(BLOCKING_SQL),
            sqlite_where=text(BLOCKING_SQL),
        ),
    )


class NoticeAttempt(Base):
    """One try at pushing a notice to the merchant: what was sent back, kept for people to read."""

    __tablename__ = "notice_attempts"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    # acknowledged | refused (answered, not result=0) | timeout | connection_error | bad_response
    outcome: Mapped[str] = mapped_column(String(24))
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_excerpt: Mapped[str] = mapped_column(String(2048), default="")  # truncated, no NULs
    error: Mapped[str] = mapped_column(String(256), default="")


class NoticeReadCursor(Base):
    """091 pull: the last notice a merchant (per site) has read without naming a number."""

    __tablename__ = "notice_read_cursors"

    merchant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    site_id: Mapped[str] = mapped_column(String(4), primary_key=True)
    last_notice_id: Mapped[int] = mapped_column(BigInteger)
