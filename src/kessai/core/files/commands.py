"""Submitting a file (200), cancelling one, and what a merchant may read of its own files.

A file is parsed and checked as a whole before anything is stored (9101 names the line); then the
file and all its lines are written in one transaction, card numbers sealed in the vault on the way.
The worker (`process.py`) runs the lines; nothing here calls an institution.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from kessai.core.context import Core, FileLines, MerchantRef
from kessai.core.files.layout import FileLayout
from kessai.core.files.models import PaymentFile, PaymentFileLine
from kessai.core.files.parse import FileRow, parse_file
from kessai.kit.errors import InvalidState, KessaiError, NotFound
from kessai.kit.secrets import CardNumber

log = logging.getLogger("kessai.files")

DUPLICATE_WINDOW = timedelta(hours=24)  # duplicate_check=1: the same bytes within 24 h → 9106
# Lines not run because the file was cancelled: their data record says so.
CANCELLED_DETAIL = "ファイルの取消により処理されませんでした。"
OPEN_STATUSES = ("queued", "running")
UNFINISHED_LINES = ("pending", "claimed", "running")


@dataclass(frozen=True)
class FileView:
    """A file as its merchant (and `kessai files show`) sees it."""

    receipt_id: str
    merchant_id: int
    file_type: str
    status: str  # queued | running | done | cancelled
    total_lines: int
    done_lines: int
    error_lines: int
    created_at: datetime
    finished_at: datetime | None

    def as_json(self) -> dict[str, object]:
        return {
            "file_receipt_id": self.receipt_id,
            "merchant_id": self.merchant_id,
            "file_type": self.file_type,
            "status": self.status,
            "total_lines": self.total_lines,
            "done_lines": self.done_lines,
            "error_lines": self.error_lines,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }

    @classmethod
    def of(cls, file: PaymentFile, done_lines: int, error_lines: int) -> FileView:
        return cls(
            receipt_id=file.receipt_id,
            merchant_id=file.merchant_id,
            file_type=file.file_type,
            status=file.status,
            total_lines=file.total_lines,
            done_lines=done_lines,
            error_lines=error_lines,
            created_at=file.created_at,
            finished_at=file.finished_at,
        )


def layout_of(core: Core, file_type: str) -> tuple[FileLines, FileLayout]:
    """The lines' codec and the layout of `file_type`; 9102 when Kessai does not run that type."""
    lines = core.file_lines
    layout = lines.layout(file_type) if lines is not None else None
    if lines is None or layout is None:
        raise KessaiError("9102")
    return lines, layout


def submit(
    core: Core, merchant: MerchantRef, file_type: str, data: bytes, *, duplicate_check: bool
) -> str:
    """Accept a file (ファイル決済要求, 200): its 9-digit file_receipt_id. 9101 malformed, 9102
    type not run, 9106 the same bytes from this merchant within 24 h (with `duplicate_check`)."""
    lines, layout = layout_of(core, file_type)
    rows = parse_file(data, layout, lambda raw: lines.check(file_type, raw))
    digest = hashlib.sha256(data).hexdigest()
    now = core.clock.now()
    with core.sessions.begin() as session:
        if duplicate_check:
            _lock_digest(session, merchant.id, digest)
            if _seen(session, merchant.id, digest, now - DUPLICATE_WINDOW):
                raise KessaiError("9106")
        file = PaymentFile(
            receipt_id=_new_receipt_id(session),
            merchant_id=merchant.id,
            file_type=file_type,
            status="queued",
            digest=digest,
            total_lines=len(rows),
            done_lines=0,
            error_lines=0,
            created_at=now,
            turn_at=now,
        )
        session.add(file)
        session.flush()
        _store_lines(core, session, file.id, rows, now)
    log.info(
        "file %s accepted: merchant=%s type=%s lines=%d",
        file.receipt_id,
        merchant.id,
        file_type,
        len(rows),
    )
    return file.receipt_id


def _lock_digest(session: Session, merchant_id: int, digest: str) -> None:
    """Two identical files checked at once take turns, so the second sees the first (PostgreSQL:
    an advisory lock until commit; SQLite's writers are serialised by BEGIN IMMEDIATE already)."""
    if session.get_bind().dialect.name == "postgresql":
        key = f"kessai.files.duplicate:{merchant_id}:{digest}"
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )


def _seen(session: Session, merchant_id: int, digest: str, since: datetime) -> bool:
    return (
        session.scalar(
            select(PaymentFile.id)
            .where(
                PaymentFile.merchant_id == merchant_id,
                PaymentFile.digest == digest,
                PaymentFile.created_at > since,
            )
            .limit(1)
        )
        is not None
    )


def _new_receipt_id(session: Session) -> str:
    """Nine digits, not starting with 0, not guessable from the previous one."""
    while True:
        candidate = str(100_000_000 + secrets.randbelow(900_000_000))
        taken = session.scalar(select(PaymentFile.id).where(PaymentFile.receipt_id == candidate))
        if taken is None:
            return candidate


def _store_lines(
    core: Core, session: Session, file_id: int, rows: list[FileRow], now: datetime
) -> None:
    """Insert the lines, a thousand at a time; a card number goes into the vault and only its
    vault id is kept with the line."""
    for start in range(0, len(rows), 1000):
        batch = rows[start : start + 1000]
        fields = [dict(row.fields) for row in batch]
        sealed = [
            core.vault.store(session, CardNumber(number))
            if (number := f.pop("card_number", None))
            else None
            for f in fields
        ]
        session.flush()  # the vault rows get their ids
        values = [
            _line_values(file_id, row.line_no, f, card.id if card is not None else None, now)
            for row, f, card in zip(batch, fields, sealed, strict=True)
        ]
        session.execute(insert(PaymentFileLine), values)


def _line_values(
    file_id: int, line_no: int, fields: dict[str, str], vault_id: int | None, now: datetime
) -> dict[str, object]:
    return {
        "file_id": file_id,
        "line_no": line_no,
        "status": "pending",
        "fields": fields,
        "vault_card_id": vault_id,
        "result": "",
        "response_code": "",
        "response_detail": "",
        "payment_id": "",
        "customer_card_id": "",
        "updated_at": now,
    }


def cancel(core: Core, merchant: MerchantRef | None, receipt_id: str) -> FileView:
    """Cancel a file that has not finished: lines not yet run never run (their record says 9105);
    a line already running finishes. 2004 when the file is finished already."""
    now = core.clock.now()
    with core.sessions.begin() as session:
        file = _locked_file(session, merchant, receipt_id)
        if file.status not in OPEN_STATUSES:
            raise InvalidState(message="このファイルは処理が終わっています。")
        session.execute(
            update(PaymentFileLine)
            .where(
                PaymentFileLine.file_id == file.id,
                PaymentFileLine.status.in_(("pending", "claimed")),
            )
            .values(
                status="cancelled",
                result="1",
                response_code="9105",
                response_detail=CANCELLED_DETAIL,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        file.status, file.finished_at = "cancelled", now
        view = view_of(session, file)
    log.info("file %s cancelled by merchant %s", receipt_id, view.merchant_id)
    return view


def show(core: Core, merchant: MerchantRef | None, receipt_id: str) -> FileView:
    """A file and its counts; 9104 for an unknown id or another merchant's (None: the operator)."""
    with core.sessions() as session:
        return view_of(session, find_file(session, merchant, receipt_id))


def find_file(session: Session, merchant: MerchantRef | None, receipt_id: str) -> PaymentFile:
    query = select(PaymentFile).where(PaymentFile.receipt_id == receipt_id)
    if merchant is not None:
        query = query.where(PaymentFile.merchant_id == merchant.id)
    file = session.scalars(query).first()
    if file is None:
        raise NotFound("9104", field="file_receipt_id")
    return file


def _locked_file(session: Session, merchant: MerchantRef | None, receipt_id: str) -> PaymentFile:
    file = find_file(session, merchant, receipt_id)
    session.refresh(file, with_for_update=True)
    return file


def view_of(session: Session, file: PaymentFile) -> FileView:
    """`file` with its lines counted as they stand now."""
    done, errors = line_counts(session, file.id)
    return FileView.of(file, done, errors)


def line_counts(session: Session, file_id: int) -> tuple[int, int]:
    """Lines run to an outcome, and how many of them answered an error (cancelled lines, never
    run, are in neither)."""
    row = session.execute(
        select(
            func.count(PaymentFileLine.id),
            func.count(PaymentFileLine.id).filter(PaymentFileLine.result != "0"),
        ).where(PaymentFileLine.file_id == file_id, PaymentFileLine.status == "done")
    ).one()
    return int(row[0]), int(row[1])
