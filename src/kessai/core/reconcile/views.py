"""Reading a kept reconciliation: its summary (who, when, which file, the totals per class), its
rows (a page, or all of them streamed), the classified list as CSV (CP932 or UTF-8 with BOM, as
Excel in Japan opens them), and a merchant's history. Another merchant's reconciliation reads
exactly like one that does not exist."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from kessai.core.reconcile.classes import ReconClass, label
from kessai.core.reconcile.models import Reconciliation, ReconciliationRow
from kessai.core.reconcile.orders import ColumnMap
from kessai.kit.clock import jst_stamp
from kessai.kit.errors import InvalidRequest, NotFound

CSV_ENCODINGS = ("cp932", "utf-8-sig")
STREAM_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class ClassTotal:
    """One class of a reconciliation: its rows, the order amounts and paid amounts on them (yen),
    and the payments they carry."""

    count: int
    order_amount: int
    paid_amount: int
    payments: int


@dataclass(frozen=True, slots=True)
class ReconSummary:
    id: int
    merchant_id: int
    created_by: str
    created_at: datetime
    file_name: str
    sha256: str
    encoding: str
    period_from: date | None
    period_to: date | None
    columns: ColumnMap
    order_lines: int
    payments: int
    totals: dict[ReconClass, ClassTotal]


@dataclass(frozen=True, slots=True)
class ReconRow:
    """One result row. `order_amount`/`order_line` are None for payments no order names;
    `paid_amount` is None where nothing is paid; `difference` = paid (0 if none) − ordered (0 if
    none); `deadline`, on an unpaid row, is the latest deadline of the 取引ID's payments not
    paid and not cancelled (None without one);
    `overdue`: an unpaid row past that deadline, or past the order's expected date without one."""

    trading_id: str
    cls: ReconClass
    order_amount: int | None
    paid_amount: int | None
    difference: int
    payment_ids: list[int]
    paid_at: datetime | None
    statement_id: int | None
    payout_date: date | None
    deadline: datetime | None
    overdue: bool
    order_line: int | None
    expected_date: date | None = None
    method: str | None = None
    seq: int = 0


def summary(session: Session, *, merchant_id: int, reconciliation_id: int) -> ReconSummary:
    """`merchant_id`'s reconciliation; another merchant's is NotFound."""
    return _summary(_own(session, merchant_id, reconciliation_id))


def history(session: Session, *, merchant_id: int) -> list[ReconSummary]:
    """The merchant's reconciliations, newest first."""
    found = session.scalars(
        select(Reconciliation)
        .where(Reconciliation.merchant_id == merchant_id)
        .order_by(Reconciliation.created_at.desc(), Reconciliation.id.desc())
    )
    return [_summary(r) for r in found]


def rows(
    session: Session,
    *,
    merchant_id: int,
    reconciliation_id: int,
    cls: ReconClass | None,
    offset: int,
    limit: int,
) -> list[ReconRow]:
    """A page of the rows (of one class, or all), in the order of the file."""
    _own(session, merchant_id, reconciliation_id)
    query = _rows_query(reconciliation_id, cls).offset(max(offset, 0)).limit(max(limit, 0))
    return [_row(r) for r in session.execute(query)]


def iter_rows(
    session: Session, *, merchant_id: int, reconciliation_id: int, cls: ReconClass | None
) -> Iterator[ReconRow]:
    """Every row (of one class, or all), streamed in batches (a server-side cursor on
    PostgreSQL): a million rows are never all in memory."""
    _own(session, merchant_id, reconciliation_id)
    query = _rows_query(reconciliation_id, cls).execution_options(yield_per=STREAM_BATCH)
    for found in session.execute(query):
        yield _row(found)


CSV_HEADER = (
    "行番号",
    "取引ID",
    "区分",
    "区分コード",
    "注文金額",
    "入金額",
    "差額",
    "決済ID",
    "入金日時",
    "支払明細ID",
    "支払予定日",
    "支払期限",
    "期限超過",
    "入金予定日",
    "決済方法",
)


def write_csv(rows: Iterable[ReconRow], out: BinaryIO, encoding: str) -> None:
    """The classified list as CSV: `cp932` (characters it lacks become ?) or `utf-8-sig`."""
    if encoding not in CSV_ENCODINGS:
        raise InvalidRequest(
            field="encoding", message=f"文字コード {encoding} には対応していません。"
        )
    text = io.TextIOWrapper(out, encoding=encoding, errors="replace", newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(_cells(row))
    text.flush()
    text.detach()


def _cells(row: ReconRow) -> list[Any]:
    def blank(value: object) -> object:
        return "" if value is None else value

    return [
        blank(row.order_line),
        row.trading_id,
        label(row.cls),
        row.cls.value,
        blank(row.order_amount),
        blank(row.paid_amount),
        row.difference,
        " ".join(str(i) for i in row.payment_ids),
        jst_stamp(row.paid_at, "%Y/%m/%d %H:%M:%S"),
        blank(row.statement_id),
        row.payout_date.strftime("%Y/%m/%d") if row.payout_date else "",
        jst_stamp(row.deadline, "%Y/%m/%d"),
        "期限超過" if row.overdue else "",
        row.expected_date.strftime("%Y/%m/%d") if row.expected_date else "",
        blank(row.method),
    ]


def _own(session: Session, merchant_id: int, reconciliation_id: int) -> Reconciliation:
    found = session.get(Reconciliation, reconciliation_id)
    if found is None or found.merchant_id != merchant_id:
        raise NotFound(message="指定された消し込み結果はありません。")
    return found


def _rows_query(reconciliation_id: int, cls: ReconClass | None) -> Select[Any]:
    # Plain rows, not ORM objects: a million-row download spends its time writing, not mapping.
    query = select(*ReconciliationRow.__table__.columns).where(
        ReconciliationRow.reconciliation_id == reconciliation_id
    )
    if cls is not None:
        query = query.where(ReconciliationRow.cls == cls.value)
    return query.order_by(ReconciliationRow.seq)


def _row(found: Row[Any]) -> ReconRow:
    return ReconRow(
        trading_id=found.trading_id,
        cls=ReconClass(found.cls),
        order_amount=found.order_amount,
        paid_amount=found.paid_amount,
        difference=found.difference,
        payment_ids=sorted(int(i) for i in found.payment_ids.split(",") if i),
        paid_at=found.paid_at,
        statement_id=found.statement_id,
        payout_date=found.payout_date,
        deadline=found.deadline,
        overdue=bool(found.overdue),
        order_line=found.order_line,
        expected_date=found.expected_date,
        method=found.method,
        seq=found.seq,
    )


def _summary(found: Reconciliation) -> ReconSummary:
    return ReconSummary(
        id=found.id,
        merchant_id=found.merchant_id,
        created_by=found.created_by,
        created_at=found.created_at,
        file_name=found.file_name,
        sha256=found.sha256,
        encoding=found.encoding,
        period_from=found.period_from,
        period_to=found.period_to,
        columns=ColumnMap(**found.columns),
        order_lines=found.order_lines,
        payments=found.payments,
        totals={
            cls: ClassTotal(**found.totals.get(cls.value, {}))
            if cls.value in found.totals
            else ClassTotal(0, 0, 0, 0)
            for cls in ReconClass
        },
    )
