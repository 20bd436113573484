"""What the faces read: breaks as values and their JSON, an import's result, and the settlement
lines that paid one merchant's payment (the console's payment page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.institution_reports.models import (
    InstitutionReport,
    InstitutionReportLine,
    SettlementBreak,
)
from kessai.core.ledger.models import LedgerEntry

PAID = ("matched", "amount")  # the outcomes of a line that paid an entry


@dataclass(frozen=True, slots=True)
class BreakView:
    break_id: int
    kind: str  # missing | unknown | amount | twice
    institution: str
    report_id: int
    line_number: int | None
    merchant_id: int | None
    payment_id: int | None
    expected: int
    paid: int
    detail: str
    opened_at: datetime
    resolved_at: datetime | None
    resolved_by: str
    resolution: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "break_id": self.break_id,
            "kind": self.kind,
            "institution": self.institution,
            "report_id": self.report_id,
            "line_number": self.line_number,
            "merchant_id": self.merchant_id,
            "payment_id": self.payment_id,
            "expected": self.expected,
            "paid": self.paid,
            "detail": self.detail,
            "opened_at": self.opened_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "resolved_by": self.resolved_by,
            "resolution": self.resolution,
        }


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What `kessai settle import` did (or, `already_imported`, did the first time)."""

    report_id: int
    institution: str
    report_date: date
    sha256: str
    already_imported: bool
    lines: int
    matched: int  # lines that paid their entry in full
    booked: int  # yen booked: receipts − refunds kept back
    breaks: list[BreakView]

    def as_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "institution": self.institution,
            "report_date": self.report_date.isoformat(),
            "sha256": self.sha256,
            "already_imported": self.already_imported,
            "lines": self.lines,
            "matched": self.matched,
            "booked": self.booked,
            "breaks": [b.as_dict() for b in self.breaks],
        }


@dataclass(frozen=True, slots=True)
class SettlementRef:
    """A report line that paid (or kept back) part of a payment's money."""

    report_id: int
    institution: str
    report_date: date
    settled_on: date
    kind: str  # sale | refund
    amount: int  # as the institution reported it
    outcome: str  # matched | amount


def break_views(session: Session, *where: Any) -> list[BreakView]:
    query = (
        select(SettlementBreak, InstitutionReportLine.line_number)
        .outerjoin(InstitutionReportLine, InstitutionReportLine.id == SettlementBreak.line_id)
        .where(*where)
        .order_by(SettlementBreak.id)
    )
    return [_break_view(row, line_number) for row, line_number in session.execute(query)]


def _break_view(row: SettlementBreak, line_number: int | None) -> BreakView:
    return BreakView(
        row.id, row.kind, row.institution, row.report_id, line_number, row.merchant_id,
        row.payment_id, row.expected, row.paid, row.detail, row.opened_at, row.resolved_at,
        row.resolved_by, row.resolution,
    )  # fmt: skip


def stored_result(session: Session, report: InstitutionReport, *, again: bool) -> ImportResult:
    """The result of an import, read back from what it stored."""
    lines = list(
        session.execute(
            select(
                InstitutionReportLine.outcome,
                InstitutionReportLine.kind,
                InstitutionReportLine.booked,
            ).where(InstitutionReportLine.report_id == report.id)
        )
    )
    return ImportResult(
        report_id=report.id,
        institution=report.institution,
        report_date=report.report_date,
        sha256=report.sha256,
        already_imported=again,
        lines=len(lines),
        matched=sum(1 for outcome, _, _ in lines if outcome == "matched"),
        booked=sum(b if kind == "sale" else -b for _, kind, b in lines),
        breaks=break_views(session, SettlementBreak.report_id == report.id),
    )


def settlements_of_payment(
    session: Session, merchant_id: int, payment_id: int
) -> list[SettlementRef]:
    """The report lines that paid `merchant_id`'s payment `payment_id`, oldest first. Only lines
    matched to the payment's own entries count: a line merely naming the ID shows nothing."""
    rows = session.execute(
        select(InstitutionReportLine, InstitutionReport)
        .join(InstitutionReport, InstitutionReport.id == InstitutionReportLine.report_id)
        .join(LedgerEntry, LedgerEntry.id == InstitutionReportLine.paid_entry_id)
        .where(LedgerEntry.merchant_id == merchant_id, LedgerEntry.payment_id == payment_id)
        .order_by(InstitutionReportLine.id)
    )
    return [
        SettlementRef(
            report.id,
            report.institution,
            report.report_date,
            line.settled_on,
            line.kind,
            line.amount,
            line.outcome,
        )
        for line, report in rows
    ]
