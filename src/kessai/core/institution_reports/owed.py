"""What an institution owes Kessai for one day's sales: the ledger's SALE and REFUND entries of its
methods dated that day, one line each. The sandbox institutions write their settlement report from
it (`kessai sandbox settlement-report`), so a report of the sandbox is exactly what an import of
that day expects, until breaks are planted in it."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.connectors.base import SettlementKind, SettlementLine, SettlementReport
from kessai.core.institution_reports.institutions import institution
from kessai.core.ledger.journal import EntryKind
from kessai.core.ledger.models import LedgerEntry
from kessai.core.payments.models import Payment

_PRINTABLE = re.compile(r"[\x21-\x2b\x2d-\x7e]{1,64}")  # what a report's reference may hold


def owed_report(session: Session, name: str, day: date) -> SettlementReport:
    """Institution `name`'s report for `day`: every sale and refund of its methods booked that
    day, in booking order, settled that day."""
    inst = institution(name)
    rows = session.execute(
        select(
            LedgerEntry.merchant_id,
            LedgerEntry.payment_id,
            LedgerEntry.kind,
            LedgerEntry.amount,
            Payment.institution_ref,
        )
        .join(Payment, Payment.id == LedgerEntry.payment_id)
        .where(
            LedgerEntry.payment_type.in_(inst.payment_types),
            LedgerEntry.kind.in_([EntryKind.SALE.value, EntryKind.REFUND.value]),
            LedgerEntry.event_date == day,
        )
        .order_by(LedgerEntry.id)
    )
    lines = tuple(
        SettlementLine(
            line_number=n,
            merchant_id=merchant_id,
            payment_id=payment_id,
            reference=ref if ref and _PRINTABLE.fullmatch(ref) else "",
            kind=SettlementKind.SALE if kind == EntryKind.SALE.value else SettlementKind.REFUND,
            amount=amount,
            settled_on=day,
        )
        for n, (merchant_id, payment_id, kind, amount, ref) in enumerate(rows, start=2)
    )
    return SettlementReport(inst.name, day, lines)


def unknown_payment_id(session: Session) -> int:
    """A payment ID no payment has (yet): the sandbox's planted `unknown` line names it."""
    last = session.scalar(select(Payment.id).order_by(Payment.id.desc()).limit(1)) or 0
    return last + 1_000_000
