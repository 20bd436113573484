"""`kessai settle import`: an institution's settlement report matched to the ledger, in one
transaction.

Each line names a payment (by ID, or by the institution's reference of it) and says the institution
paid a sale, or kept back a refund. It is matched to the ledger's SALE (or REFUND) entries of that
payment among the institution's methods, the oldest not yet paid by any line of any report:

  matched   the amounts agree: the amount is booked (`postings.institution_receipt`: RECEIPT Dr kessai:bank / Cr the receivable;
            for a refund CLAWBACK the other way), naming the payment
  amount    the amounts differ: the smaller is booked, the difference waits in an `amount` break
  twice     every such entry was paid already (this report or an earlier one): nothing is booked,
            a `twice` break holds the money
  unknown   no such payment, not one of this institution's, or of another merchant than the line
            says: nothing is booked, an `unknown` break holds the money

So a receivable is never credited more than its sale by a receipt. Then the report's *expected*
lines: every SALE and REFUND entry of the institution's methods dated the report's day (its
business date in Japan) that no line of any report has paid yet is a `missing` break (once per
entry, however many reports of that day come).

The report row is UNIQUE per institution and file hash and each entry is paid by at most one line
(UNIQUE `paid_entry_id`): the same file imported again finds its first import and books nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.connectors.base import SettlementKind, SettlementLine, SettlementReport
from kessai.core.institution_reports.institutions import Institution, institution
from kessai.core.institution_reports.models import (
    InstitutionReport,
    InstitutionReportLine,
    SettlementBreak,
)
from kessai.core.institution_reports.views import ImportResult, stored_result
from kessai.core.ledger.journal import Entry, EntryKind, post
from kessai.core.ledger.models import LedgerEntry
from kessai.core.ledger.postings import institution_receipt
from kessai.core.payments.models import Payment

log = logging.getLogger(__name__)
CHUNK = 1000  # IDs per IN (…): within every database's parameter limit
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Entry:
    """A sale or refund entry a line may pay."""

    id: int
    merchant_id: int
    payment_id: int
    payment_type: str
    institution: str
    kind: str
    amount: int


@dataclass(frozen=True, slots=True)
class _Decision:
    line: SettlementLine
    payment_id: int | None
    outcome: str  # matched | amount | twice | unknown
    entry: _Entry | None
    booked: int
    detail: str = ""


def import_report(
    session: Session, report: SettlementReport, *, sha256: str, file_name: str, now: datetime
) -> ImportResult:
    """Match, book and store `report` (the file's hash `sha256`) in the caller's transaction."""
    inst = institution(report.institution)
    earlier = session.scalar(
        select(InstitutionReport).where(
            InstitutionReport.institution == inst.name, InstitutionReport.sha256 == sha256
        )
    )
    if earlier is not None:
        return stored_result(session, earlier, again=True)
    row = InstitutionReport(
        institution=inst.name,
        report_date=report.report_date,
        sha256=sha256,
        file_name=file_name[:255],
        line_count=len(report.lines),
        imported_at=now,
    )
    session.add(row)
    session.flush()  # the UNIQUE file index: a concurrent import of the same file stops here
    decisions = _decide(session, inst, report.lines)
    _store(session, inst, row, decisions, now)
    _missing(session, inst, row, now)
    session.flush()
    result = stored_result(session, row, again=False)
    log.info(
        "institution report imported",
        extra={"institution": inst.name, "report_id": row.id, "lines": result.lines,
               "breaks": len(result.breaks), "booked": result.booked},
    )  # fmt: skip
    return result


def _decide(
    session: Session, inst: Institution, lines: Sequence[SettlementLine]
) -> list[_Decision]:
    by_reference = _payments_by_reference(session, inst, lines)
    payment_ids = {line.payment_id or by_reference.get(line.reference) for line in lines}
    entries = _entries(session, inst, {p for p in payment_ids if p is not None})
    paid = _paid(session, [e.id for found in entries.values() for e in found])
    return [
        _decide_line(line, line.payment_id or by_reference.get(line.reference), entries, paid)
        for line in lines
    ]


def _decide_line(
    line: SettlementLine, payment_id: int | None, entries: dict[int, list[_Entry]], paid: set[int]
) -> _Decision:
    """One line's outcome; `paid` (entry IDs paid so far) takes the entry this line pays."""
    kind = EntryKind.SALE if line.kind is SettlementKind.SALE else EntryKind.REFUND
    found = [e for e in entries.get(payment_id or 0, []) if e.kind == kind.value]
    if payment_id is None or not found:
        what = f"payment {payment_id}" if payment_id else f"reference {line.reference!r}"
        return _Decision(
            line, payment_id, "unknown", None, 0, f"{what}: no {kind.value} of this institution"
        )
    if line.merchant_id is not None and line.merchant_id != found[0].merchant_id:
        why = f"the line names merchant {line.merchant_id}, the payment is another merchant's"
        return _Decision(line, payment_id, "unknown", None, 0, why)
    unpaid = [e for e in found if e.id not in paid]
    if not unpaid:
        return _Decision(line, payment_id, "twice", found[-1], 0, f"{kind.value} already paid")
    entry = unpaid[0]
    paid.add(entry.id)
    if line.amount == entry.amount:
        return _Decision(line, payment_id, "matched", entry, line.amount)
    why = f"{kind.value} of {entry.amount} yen reported as {line.amount}"
    return _Decision(line, payment_id, "amount", entry, min(line.amount, entry.amount), why)


def _store(
    session: Session,
    inst: Institution,
    report: InstitutionReport,
    decisions: list[_Decision],
    now: datetime,
) -> None:
    rows = [_line_row(report.id, d) for d in decisions]
    session.add_all(rows)
    session.flush()  # the UNIQUE paid_entry_id: an entry paid by a concurrent import stops here
    receipts = [_receipt(d) for d in decisions if d.booked]
    for chunk in _chunks(receipts):
        post(session, chunk, now=now)
    session.add_all(
        _line_break(inst, report.id, row.id, decision, now)
        for decision, row in zip(decisions, rows, strict=True)
        if decision.outcome != "matched"
    )


def _line_row(report_id: int, d: _Decision) -> InstitutionReportLine:
    line = d.line
    return InstitutionReportLine(
        report_id=report_id,
        line_number=line.line_number,
        merchant_id=line.merchant_id,
        payment_id=d.payment_id,
        reference=line.reference[:64],
        kind=line.kind.value,
        amount=line.amount,
        settled_on=line.settled_on,
        outcome=d.outcome,
        entry_id=d.entry.id if d.entry else None,
        paid_entry_id=d.entry.id if d.entry and d.outcome in ("matched", "amount") else None,
        booked=d.booked,
    )


def _receipt(d: _Decision) -> Entry:
    """RECEIPT (a sale paid) or CLAWBACK (a refund kept back) on the entry's receivable."""
    assert d.entry is not None
    return institution_receipt(
        merchant_id=d.entry.merchant_id,
        payment_type=d.entry.payment_type,
        institution=d.entry.institution,
        amount=d.booked,
        received_on=d.line.settled_on,
        payment_id=d.entry.payment_id,
        kept_back=d.line.kind is SettlementKind.REFUND,
    )


def _line_break(
    inst: Institution, report_id: int, line_id: int, d: _Decision, now: datetime
) -> SettlementBreak:
    entry = d.entry
    expected = entry.amount if entry is not None and d.outcome == "amount" else 0
    return SettlementBreak(
        kind=d.outcome,
        institution=inst.name,
        report_id=report_id,
        line_id=line_id,
        entry_id=entry.id if entry else None,
        merchant_id=entry.merchant_id if entry else d.line.merchant_id,
        payment_id=d.payment_id,
        expected=expected,
        paid=d.line.amount,
        detail=d.detail[:256],
        opened_at=now,
    )


def _missing(session: Session, inst: Institution, report: InstitutionReport, now: datetime) -> None:
    """A `missing` break for each entry the report's day expected that no line has paid."""
    paid = select(InstitutionReportLine.id).where(
        InstitutionReportLine.paid_entry_id == LedgerEntry.id
    )
    flagged = select(SettlementBreak.id).where(
        SettlementBreak.kind == "missing", SettlementBreak.entry_id == LedgerEntry.id
    )
    due = session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.payment_type.in_(inst.payment_types),
            LedgerEntry.kind.in_([EntryKind.SALE.value, EntryKind.REFUND.value]),
            LedgerEntry.event_date == report.report_date,
            ~paid.exists(),
            ~flagged.exists(),
        )
        .order_by(LedgerEntry.id)
    )
    session.add_all(
        SettlementBreak(
            kind="missing",
            institution=inst.name,
            report_id=report.id,
            entry_id=e.id,
            merchant_id=e.merchant_id,
            payment_id=e.payment_id,
            expected=e.amount,
            paid=0,
            detail=f"{e.kind} of {e.event_date} not in the report",
            opened_at=now,
        )
        for e in due
    )


def _payments_by_reference(
    session: Session, inst: Institution, lines: Sequence[SettlementLine]
) -> dict[str, int]:
    """Lines that name their payment only by the institution's reference (`institution_ref`)."""
    wanted = {line.reference for line in lines if line.payment_id is None and line.reference}
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(wanted)):
        rows = session.execute(
            select(Payment.institution_ref, Payment.id).where(
                Payment.institution_ref.in_(chunk), Payment.payment_type.in_(inst.payment_types)
            )
        )
        found.update({ref: pid for ref, pid in rows if ref is not None})
    return found


def _entries(
    session: Session, inst: Institution, payment_ids: Iterable[int]
) -> dict[int, list[_Entry]]:
    """The sale and refund entries of the payments, of the institution's methods, oldest first."""
    found: dict[int, list[_Entry]] = defaultdict(list)
    for chunk in _chunks(sorted(payment_ids)):
        rows = session.execute(
            select(
                LedgerEntry.id,
                LedgerEntry.merchant_id,
                LedgerEntry.payment_id,
                LedgerEntry.payment_type,
                LedgerEntry.institution,
                LedgerEntry.kind,
                LedgerEntry.amount,
            )
            .where(
                LedgerEntry.payment_id.in_(chunk),
                LedgerEntry.payment_type.in_(inst.payment_types),
                LedgerEntry.kind.in_([EntryKind.SALE.value, EntryKind.REFUND.value]),
            )
            .order_by(LedgerEntry.id)
        )
        for eid, mid, pid, ptype, inst_code, kind, amount in rows:
            assert mid is not None and pid is not None  # a sale or refund names both
            found[pid].append(_Entry(eid, mid, pid, ptype, inst_code, kind, amount))
    return found


def _paid(session: Session, entry_ids: list[int]) -> set[int]:
    """Which of the entries a line of an earlier report paid."""
    paid: set[int] = set()
    for chunk in _chunks(entry_ids):
        paid.update(
            session.scalars(
                select(InstitutionReportLine.paid_entry_id).where(
                    InstitutionReportLine.paid_entry_id.in_(chunk)
                )
            ).all()  # type: ignore[arg-type]
        )
    return paid


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
