"""The detail CSV of a statement (支払明細 明細CSV): one row per payment on it, then one row per
statement-level fee and the tax, so each amount column adds up to the statement to the yen.

Columns: 取引ID, 決済ID, 決済種別, 支払機関, 売上金額, 取消金額, 手数料, 消費税, 計上日. Encoded CP932
(Excel in Japan; a character CP932 lacks becomes "?") or UTF-8 with a BOM; CRLF line ends. A text
cell Excel would take for a formula is prefixed with ' (CSV injection); amounts are left as numbers.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from kessai.core.ledger import accounts
from kessai.core.ledger.journal import EntryKind
from kessai.core.ledger.models import LedgerEntry
from kessai.core.payments.labels import METHOD_NAMES
from kessai.core.payments.models import Payment
from kessai.core.statements.models import Statement

HEADER = (
    "取引ID",
    "決済ID",
    "決済種別",
    "支払機関",
    "売上金額",
    "取消金額",
    "手数料",
    "消費税",
    "計上日",
)
ENCODINGS = {"cp932": "cp932", "utf-8": "utf-8-sig"}


@dataclass
class DetailRow:
    trading_id: str = ""
    payment_id: str = ""
    method: str = ""
    institution: str = ""
    gross: int = 0
    refunds: int = 0
    fee: int = 0
    tax: int = 0
    dates: list[date] = field(default_factory=list)

    def cells(self) -> list[str | int]:
        day = max(self.dates).isoformat() if self.dates else ""
        texts = [_text(self.trading_id), self.payment_id, self.method, _text(self.institution)]
        return [*texts, self.gross, self.refunds, self.fee, self.tax, day]


def detail_rows(session: Session, statement: Statement) -> list[DetailRow]:
    """The statement's rows: its payments (by payment id), then transfer fee, monthly fee, tax."""
    rows = _payment_rows(session, statement, None)
    day = [statement.period_through]
    rows += [
        DetailRow(method="振込手数料", fee=statement.transfer_fee, dates=day),
        DetailRow(method="月額固定費", fee=statement.monthly_fee, dates=day),
        DetailRow(method=f"消費税（{statement.tax_rate_percent}%）", tax=statement.tax, dates=day),
    ]
    return rows


@dataclass(frozen=True, slots=True)
class PaymentPage:
    total: int  # payments on the statement
    rows: list[DetailRow]


def payment_page(session: Session, statement: Statement, *, offset: int, limit: int) -> PaymentPage:
    """One page of the statement's payments (by payment id), as the CSV has them; only that
    page's entries are read, so a page of a statement of a million payments stays cheap."""
    on_statement = (
        LedgerEntry.statement_id == statement.id,
        LedgerEntry.payment_id.is_not(None),
    )
    total = session.scalar(
        select(func.count(distinct(LedgerEntry.payment_id))).where(*on_statement)
    )
    ids = session.scalars(
        select(LedgerEntry.payment_id)
        .where(*on_statement)
        .group_by(LedgerEntry.payment_id)
        .order_by(LedgerEntry.payment_id)
        .offset(offset)
        .limit(limit)
    ).all()
    rows = _payment_rows(session, statement, [pid for pid in ids if pid is not None])
    return PaymentPage(total or 0, rows)


def _payment_rows(
    session: Session, statement: Statement, payment_ids: list[int] | None
) -> list[DetailRow]:
    """Rows of the statement's payments, all of them or those of `payment_ids`."""
    m = statement.merchant_id
    query = select(LedgerEntry).where(
        LedgerEntry.statement_id == statement.id, LedgerEntry.payment_id.is_not(None)
    )
    if payment_ids is not None:
        if not payment_ids:
            return []
        query = query.where(LedgerEntry.payment_id.in_(payment_ids))
    by_payment: dict[int, DetailRow] = defaultdict(DetailRow)
    for e in session.scalars(query.order_by(LedgerEntry.id)):
        if e.payment_id is None:
            continue
        row = by_payment[e.payment_id]
        kind = EntryKind(e.kind)
        if kind is EntryKind.SALE:
            row.gross += e.amount
            row.dates.append(e.event_date)
        elif kind is EntryKind.REFUND:
            row.refunds += e.amount
            row.dates.append(e.event_date)
        elif kind is EntryKind.FEE:
            row.fee += e.amount if e.credit == accounts.fees(m) else -e.amount
    _describe(session, by_payment)
    return [by_payment[pid] for pid in sorted(by_payment)]


def _describe(session: Session, rows: dict[int, DetailRow]) -> None:
    if not rows:
        return
    found = session.execute(
        select(
            Payment.id,
            Payment.trading_id,
            Payment.payment_type,
            Payment.institution_name,
            Payment.institution_code,
        ).where(Payment.id.in_(rows))
    )
    for pid, trading_id, payment_type, name, code in found:
        row = rows[pid]
        row.trading_id, row.payment_id = trading_id, str(pid)
        row.method = METHOD_NAMES.get(payment_type, payment_type)
        row.institution = name or code


def detail_csv(session: Session, statement: Statement, *, encoding: str = "cp932") -> bytes:
    """The whole CSV, encoded (`cp932` or `utf-8`, the latter with a BOM)."""
    codec = ENCODINGS[encoding]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in detail_rows(session, statement):
        writer.writerow(row.cells())
    return buffer.getvalue().encode(codec, "replace")


def _text(value: str) -> str:
    return "'" + value if value and value[0] in "=+-@\t\r" else value
