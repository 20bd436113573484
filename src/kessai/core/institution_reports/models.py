"""Institution settlement reports, their lines and the breaks found in them.

A report is stored once per institution and file (its sha256, UNIQUE): importing the same file
again books nothing. A line that pays a sale or refund entry of the ledger names it in
`paid_entry_id`, UNIQUE: no entry is paid twice, whatever the imports and their order, even two
imports at once (the second fails on the index and rolls back whole). A break stays open
(`resolved_at` NULL) until an operator resolves it with a reason.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID


class InstitutionReport(Base):
    """One imported settlement report (精算明細) of one institution for one day's sales."""

    __tablename__ = "institution_reports"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    institution: Mapped[str] = mapped_column(String(16))
    report_date: Mapped[date] = mapped_column(Date)
    sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255), default="")
    line_count: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("institution", "sha256", name="uq_institution_reports_file"),
        Index("ix_institution_reports_day", "institution", "report_date"),
    )


class InstitutionReportLine(Base):
    """A line as the institution wrote it, and what it was matched to.

    outcome: `matched` (paid an entry, in full), `amount` (paid an entry another amount),
    `unknown` (no entry of this institution for it), `twice` (its entry was already paid).
    `booked` is what the line booked in the ledger: the amount for `matched`, the smaller of
    paid and expected for `amount`, 0 otherwise (the rest waits in the break).
    """

    __tablename__ = "institution_report_lines"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("institution_reports.id"))
    line_number: Mapped[int] = mapped_column(Integer)
    merchant_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # as the file says
    payment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # as the file says
    reference: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(8))  # sale | refund
    amount: Mapped[int] = mapped_column(Integer)
    settled_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16))
    # The ledger's sale or refund entry the line is about (matched, amount, twice).
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), nullable=True)
    # The same entry when this line paid it: at most one line ever does.
    paid_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id"), nullable=True, unique=True
    )
    booked: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("report_id", "line_number", name="uq_institution_report_lines_line"),
        Index("ix_institution_report_lines_entry_id", "entry_id"),
    )


class SettlementBreak(Base):
    """Something a report did not settle as the ledger expects (kind: missing, unknown, amount,
    twice), open until resolved."""

    __tablename__ = "settlement_breaks"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    institution: Mapped[str] = mapped_column(String(16))
    report_id: Mapped[int] = mapped_column(ForeignKey("institution_reports.id"), index=True)
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("institution_report_lines.id"), nullable=True
    )
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), nullable=True)
    merchant_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    expected: Mapped[int] = mapped_column(Integer)  # yen the ledger expected (0: nothing)
    paid: Mapped[int] = mapped_column(Integer)  # yen the institution paid (0: nothing)
    detail: Mapped[str] = mapped_column(String(256), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str] = mapped_column(String(64), default="")
    resolution: Mapped[str] = mapped_column(String(512), default="")

    __table_args__ = (
        # An entry is reported missing once, however many reports of its day are imported.
        Index(
            "uq_settlement_breaks_missing",
            "entry_id",
            unique=True,
            sqlite_where=text("kind = 'missing'"),
            postgresql_where=text("kind = 'missing'"),
        ),
        Index("ix_settlement_breaks_resolved_at", "resolved_at"),
    )
