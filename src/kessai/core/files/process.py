"""Running files: the worker's side of file payment (ファイル決済).

Each pass takes chunks of lines, one chunk at a time: from the merchant whose last turn is oldest,
its file whose turn is oldest (`turn_at`), so merchants' files progress side by side and neither one
big file nor many files of one merchant can starve another's; on PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several workers take different files.

Every line is idempotent by (file, line number), written ahead like `payments/operations.py`:
`claimed` (taken into a chunk) → `running` (committed before the line's command is called) →
`done` with its outcome (a second transaction). A worker killed in between leaves its lines
behind: `claimed` ones never started and go back to `pending`; a `running` one may have reached
the institution, so it is never run again: its record says 9105 and points at 094 (the payment's
own write-ahead operation is settled by the reconciler). So no line runs twice, none is charged
twice, and one failing line never stops the others.

When a file has no unfinished line left it is `done`, and the file payment notice is written in
that same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kessai.core.cards.models import VaultCard
from kessai.core.context import Core, MerchantRef
from kessai.core.files.commands import OPEN_STATUSES, UNFINISHED_LINES, line_counts
from kessai.core.files.layout import LineOutcome
from kessai.core.files.models import RESULT_COLUMNS_KEY, PaymentFile, PaymentFileLine
from kessai.core.merchants.models import Merchant
from kessai.core.notifications.outbox import record_file_notice
from kessai.kit.clock import jst_stamp
from kessai.kit.errors import KessaiError
from kessai.kit.secrets import CardNumber

log = logging.getLogger("kessai.files")

CHUNK_LINES = 50
# A claimed line nobody started for this long belongs to a worker that died: it goes back.
STALE_CLAIM = timedelta(minutes=2)
# A running line this old was cut off mid-call (its worker died): it is not run again.
STALE_RUNNING = timedelta(minutes=10)
INTERRUPTED_DETAIL = "処理中に中断されました。結果は決済情報照会（094）で確認してください。"
EVENT_DONE = "file.process.done"


@dataclass(frozen=True)
class Chunk:
    file_id: int
    merchant: MerchantRef
    file_type: str
    line_ids: tuple[int, ...]


def run_due(core: Core, *, chunks: int = 4) -> int:
    """One pass: settle lines left by dead workers, then run up to `chunks` chunks (each of the
    file whose turn is oldest). Returns the number of lines run."""
    if core.file_lines is None:
        return 0
    recover_stale(core)
    ran = 0
    for _ in range(chunks):
        chunk = claim_chunk(core)
        if chunk is None:
            break
        ran += run_chunk(core, chunk)
        finish_if_complete(core, chunk.file_id)
    return ran


def claim_chunk(core: Core, size: int = CHUNK_LINES) -> Chunk | None:
    """Take up to `size` pending lines of the open file whose turn is oldest; None: no work."""
    now = core.clock.now()
    with core.sessions.begin() as session:
        for file in _open_files(session):
            ids = _pending_ids(session, file.id, size)
            file.turn_at = now
            if not ids:
                continue  # every line taken or done: finish_if_complete closes it
            _mark(session, ids, "pending", "claimed", now)
            file.status = "running"
            merchant = MerchantRef.of(session.get_one(Merchant, file.merchant_id))
            return Chunk(file.id, merchant, file.file_type, tuple(ids))
    return None


def _open_files(session: Session) -> list[PaymentFile]:
    """Open files, the merchant whose last turn is oldest first, then that merchant's file whose
    turn is oldest: turns go round the merchants, not the files, so a merchant with ten files
    queued gets no more of the worker than one with a single file."""
    open_files = PaymentFile.status.in_(OPEN_STATUSES)
    last_turn = (
        select(PaymentFile.merchant_id, func.max(PaymentFile.turn_at).label("at"))
        .where(open_files)
        .group_by(PaymentFile.merchant_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(PaymentFile)
            .join(last_turn, last_turn.c.merchant_id == PaymentFile.merchant_id)
            .where(open_files)
            .order_by(last_turn.c.at, PaymentFile.turn_at, PaymentFile.id)
            .limit(8)
            .with_for_update(skip_locked=True, of=PaymentFile)
        )
    )


def _pending_ids(session: Session, file_id: int, size: int) -> list[int]:
    return list(
        session.scalars(
            select(PaymentFileLine.id)
            .where(PaymentFileLine.file_id == file_id, PaymentFileLine.status == "pending")
            .order_by(PaymentFileLine.line_no)
            .limit(size)
        )
    )


def _mark(session: Session, ids: list[int], before: str, after: str, now: datetime) -> int:
    result = session.execute(
        update(PaymentFileLine)
        .where(PaymentFileLine.id.in_(ids), PaymentFileLine.status == before)
        .values(status=after, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def run_chunk(core: Core, chunk: Chunk) -> int:
    """Run the chunk's lines one by one; a cancelled line is skipped. Returns lines run.

    A line's outcome is committed in the same transaction as the next line's write-ahead mark
    (one commit per line instead of two): a worker killed in between leaves the finished line
    `running`, exactly as a kill between its call and a separate commit would (9105, never rerun)."""
    ran = 0
    finished: tuple[int, LineOutcome] | None = None
    for line_id in chunk.line_ids:
        fields = _start(core, line_id, finished)
        finished = None
        if fields is None:
            continue
        finished = (line_id, _run_line(core, chunk, fields))
        ran += 1
    if finished is not None:
        _record(core, *finished)
    return ran


def _start(
    core: Core, line_id: int, finished: tuple[int, LineOutcome] | None = None
) -> dict[str, str] | None:
    """The write-ahead mark: `claimed` → `running`, committed with the previous line's outcome
    (`finished`); the line's fields (with its card number opened from the vault), or None when
    the line is no longer ours (cancelled, re-queued)."""
    now = core.clock.now()
    with core.sessions.begin() as session:
        if finished is not None:
            _record_in(session, *finished, now)
        row = session.execute(
            update(PaymentFileLine)
            .where(PaymentFileLine.id == line_id, PaymentFileLine.status == "claimed")
            .values(status="running", updated_at=now)
            .returning(PaymentFileLine.fields, PaymentFileLine.vault_card_id)
            .execution_options(synchronize_session=False)
        ).first()
        if row is None:
            return None
        fields = {str(k): str(v) for k, v in (row.fields or {}).items()}
        if row.vault_card_id is not None:
            card = session.get_one(VaultCard, row.vault_card_id)
            fields["card_number"] = _opened(core, card)
        return fields


def _opened(core: Core, card: VaultCard) -> str:
    number: CardNumber = core.vault.open(card)
    return number.reveal()


def _run_line(core: Core, chunk: Chunk, fields: Mapping[str, str]) -> LineOutcome:
    """The line through its telegram's handler; anything unexpected is this line's error only."""
    assert core.file_lines is not None
    try:
        return core.file_lines.run(core, chunk.merchant, chunk.file_type, fields)
    except KessaiError as error:
        return LineOutcome("1", error.code, error.detail)
    except Exception:
        log.exception("file line %s of file %s failed", fields.get("trading_id", ""), chunk.file_id)
        return LineOutcome("1", "E001", KessaiError("E001").detail)


def _record(core: Core, line_id: int, outcome: LineOutcome) -> None:
    """The chunk's last line's outcome, in a transaction of its own."""
    with core.sessions.begin() as session:
        _record_in(session, line_id, outcome, core.clock.now())


def _record_in(session: Session, line_id: int, outcome: LineOutcome, now: datetime) -> None:
    """A line's outcome (its transaction 2); only a line still `running` takes it."""
    values: dict[str, object] = {
        "status": "done",
        "result": outcome.result,
        "response_code": outcome.response_code[:8],
        "response_detail": outcome.response_detail[:256],
        "payment_id": outcome.payment_id,
        "customer_card_id": outcome.customer_card_id,
        "updated_at": now,
    }
    if outcome.columns:  # kept beside the request (024: masked numbers and expiries only)
        stored = session.get_one(PaymentFileLine, line_id).fields or {}
        values["fields"] = {**stored, RESULT_COLUMNS_KEY: list(outcome.columns)}
    session.execute(
        update(PaymentFileLine)
        .where(PaymentFileLine.id == line_id, PaymentFileLine.status == "running")
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def recover_stale(core: Core) -> int:
    """Lines left by dead workers: stale `claimed` ones go back to `pending`; stale `running`
    ones are closed with 9105 (never run twice); their files finish if nothing else is left."""
    now = core.clock.now()
    with core.sessions.begin() as session:
        requeued = session.execute(
            update(PaymentFileLine)
            .where(
                PaymentFileLine.status == "claimed",
                PaymentFileLine.updated_at < now - STALE_CLAIM,
            )
            .values(status="pending", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        files = list(
            session.scalars(
                select(PaymentFileLine.file_id)
                .where(
                    PaymentFileLine.status == "running",
                    PaymentFileLine.updated_at < now - STALE_RUNNING,
                )
                .distinct()
            )
        )
        session.execute(
            update(PaymentFileLine)
            .where(
                PaymentFileLine.status == "running",
                PaymentFileLine.updated_at < now - STALE_RUNNING,
            )
            .values(
                status="done",
                result="1",
                response_code="9105",
                response_detail=INTERRUPTED_DETAIL,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    for file_id in files:
        log.warning(
            "file %s: a line was cut off mid-call; recorded as 9105, not run again", file_id
        )
    for file_id in {*files, *_finished_but_open(core)}:
        finish_if_complete(core, file_id)
    return int(getattr(requeued, "rowcount", 0) or 0) + len(files)


def _finished_but_open(core: Core) -> list[int]:
    """Open files with no unfinished line: a worker died between a file's last line and closing
    it (finish_if_complete), so nobody else would."""
    unfinished = (
        select(PaymentFileLine.id)
        .where(
            PaymentFileLine.file_id == PaymentFile.id,
            PaymentFileLine.status.in_(UNFINISHED_LINES),
        )
        .exists()
    )
    with core.sessions() as session:
        return list(
            session.scalars(
                select(PaymentFile.id).where(PaymentFile.status.in_(OPEN_STATUSES), ~unfinished)
            )
        )


def finish_if_complete(core: Core, file_id: int) -> bool:
    """Close a file with no unfinished line: `done`, its counts, and its notice, in one
    transaction. Idempotent: the file row is locked and its status read again."""
    now = core.clock.now()
    with core.sessions.begin() as session:
        file = session.get_one(PaymentFile, file_id, with_for_update=True)
        if file.status not in OPEN_STATUSES or _unfinished(session, file_id):
            return False
        file.done_lines, file.error_lines = line_counts(session, file_id)
        file.status, file.finished_at = "done", now
        record_file_notice(session, file.merchant_id, file.id, notice_fields(file, now), now)
    log.info("file %s done: lines=%d errors=%d", file.receipt_id, file.done_lines, file.error_lines)
    return True


def _unfinished(session: Session, file_id: int) -> bool:
    return (
        session.scalar(
            select(PaymentFileLine.id)
            .where(
                PaymentFileLine.file_id == file_id,
                PaymentFileLine.status.in_(UNFINISHED_LINES),
            )
            .limit(1)
        )
        is not None
    )


def notice_fields(file: PaymentFile, now: datetime) -> dict[str, str]:
    """The file payment notice's fields (§1.5 200/201), `hc` added when it is sent."""
    return {
        "file_receipt_id": file.receipt_id,
        "event_id": EVENT_DONE,
        "receipt_date": jst_stamp(file.created_at),
        "occur_date": jst_stamp(now),
    }
