"""What the console reads of a merchant's files: the list of past files, and one file's progress
(lines done, errors so far, and the rate its lines are running at).

Read-only; `commands.py` holds the writes (submit, cancel). A merchant only ever reads its own files:
another merchant's receipt id answers 9104, exactly as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kessai.core.context import Core, MerchantRef
from kessai.core.files.commands import OPEN_STATUSES, FileView, find_file, view_of
from kessai.core.files.models import PaymentFile, PaymentFileLine

RATE_WINDOW = timedelta(seconds=60)  # a running file's rate: lines finished in the last minute


@dataclass(frozen=True)
class FileProgress:
    """A file as its progress page shows it."""

    view: FileView
    lines_per_second: float  # running: over the last minute; finished: over the whole run

    @property
    def open(self) -> bool:
        return self.view.status in OPEN_STATUSES

    @property
    def remaining_lines(self) -> int:
        """Lines still to run (none once the file is finished or cancelled)."""
        return self.view.total_lines - self.view.done_lines if self.open else 0

    @property
    def seconds_left(self) -> int | None:
        """A rough estimate at the current rate; None before any line has run."""
        if not self.open or self.lines_per_second <= 0:
            return None
        return round(self.remaining_lines / self.lines_per_second)

    def as_json(self) -> dict[str, object]:
        return {
            **self.view.as_json(),
            "open": self.open,
            "lines_per_second": round(self.lines_per_second, 1),
            "seconds_left": self.seconds_left,
        }


def history(core: Core, merchant: MerchantRef, *, limit: int) -> tuple[list[FileView], int]:
    """The merchant's newest `limit` files (newest first) and how many it has in all."""
    with core.sessions() as session:
        total = session.scalar(
            select(func.count(PaymentFile.id)).where(PaymentFile.merchant_id == merchant.id)
        )
        files = session.scalars(
            select(PaymentFile)
            .where(PaymentFile.merchant_id == merchant.id)
            .order_by(PaymentFile.created_at.desc(), PaymentFile.id.desc())
            .limit(limit)
        )
        return [_listed(session, file) for file in files], int(total or 0)


def _listed(session: Session, file: PaymentFile) -> FileView:
    """A done file's counts were written when it closed; an open or cancelled one is counted."""
    if file.status != "done":
        return view_of(session, file)
    return FileView.of(file, file.done_lines, file.error_lines)


def progress(core: Core, merchant: MerchantRef, receipt_id: str) -> FileProgress:
    """One file of the merchant's with its rate; 9104 for an unknown id or another merchant's."""
    with core.sessions() as session:
        file = find_file(session, merchant, receipt_id)
        view = view_of(session, file)
        running = view.status in OPEN_STATUSES
        end = core.clock.now() if running else file.finished_at
        return FileProgress(view, _rate(session, file.id, end, recent=running))


def _rate(session: Session, file_id: int, end: datetime | None, *, recent: bool) -> float:
    """Lines per second: a running file's over the last minute (or since its first line, if
    later), a finished one's from its first line's end to its last's."""
    done = (PaymentFileLine.file_id == file_id, PaymentFileLine.status == "done")
    first = session.scalar(select(func.min(PaymentFileLine.updated_at)).where(*done))
    if first is None or end is None:
        return 0.0
    start = max(first, end - RATE_WINDOW) if recent else first
    count = session.scalar(
        select(func.count(PaymentFileLine.id)).where(*done, PaymentFileLine.updated_at >= start)
    )
    seconds = max((end - start).total_seconds(), 1.0)
    return int(count or 0) / seconds
