"""The journal: one row per entry, carrying its debit and its credit account.

Every money event Kessai records moves one amount from one account to another, so an entry needs no
posting rows of its own: the row is balanced by construction (one debit, one credit, one positive
amount; CHECK constraints hold the database to it) and a capture costs one INSERT. An event that
touches more accounts (a statement close) is several entries. Rows are append-only: migration 0012's
triggers (0020's on PostgreSQL) refuse UPDATE and DELETE, except a close stamping a NULL
`statement_id` once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID, SumYen


class LedgerEntry(Base):
    """A journal entry (仕訳): `amount` yen debited to `debit` and credited to `credit`."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    # None only for Kessai's own movements that belong to no merchant.
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), nullable=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    payment_type: Mapped[str] = mapped_column(String(2))  # "" when no method
    institution: Mapped[str] = mapped_column(String(16))  # acquirer, chain, bank, carrier; ""
    kind: Mapped[str] = mapped_column(String(16))  # EntryKind
    debit: Mapped[str] = mapped_column(String(64))  # account code (accounts.py)
    credit: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(SumYen)
    event_date: Mapped[date] = mapped_column(Date)  # the event's business date in Japan
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit <> credit", name="two_accounts"),
        # A close claims one merchant's open entries through a date. Open entries only: a
        # stamped entry is never looked up here, and stamping one adds nothing to the index.
        Index(
            "ix_ledger_entries_open",
            "merchant_id",
            "event_date",
            postgresql_where=text("statement_id IS NULL"),
            sqlite_where=text("statement_id IS NULL"),
        ),
        Index("ix_ledger_entries_payment_id", "payment_id"),
        Index("ix_ledger_entries_statement_id", "statement_id"),
        # An institution's day: its report's lines (sandbox) and what an import expects.
        Index("ix_ledger_entries_day", "event_date", "payment_type"),
    )
