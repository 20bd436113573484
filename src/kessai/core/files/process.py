"""Running files: the worker's side of file payment (ファイル決済).

Each pass takes chunks of lines: from the merchant whose last turn is oldest, its file whose turn
is oldest (`turn_at`), so merchants' files progress side by side and neither one big file nor many
files of one merchant can starve another's; on PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several
workers take different files. A worker runs chunks on `lanes` threads at once (`KESSAI_FILE_LANES`):
each lane claims a chunk of its own and runs its lines one after another, so a line waiting on the
database or the institution no longer holds up the others. Claims take turns behind one lock
(`_Turns`): two lanes never hold the same line, and a lane never finds the only file row locked by
its neighbour's claim (SKIP LOCKED would have it skip the file and go idle). On PostgreSQL a lane
runs its chunk as `GROUP_LINES` stripes side by side whose one-statement transactions are committed
together (`run_chunk_grouped`, `kessai.db.group_commit`).

Every line is idempotent by (file, line number), written ahead like `payments/operations.py`:
`claimed` (taken into a chunk) → `running` (committed before the line's command is called) →
`done` with its outcome (a second transaction). A worker killed in between leaves its lines
behind: `claimed` ones never started and go back to `pending`. A `running` one may have reached
the institution. When its file type is one write-ahead operation (020, 021, 022), that operation
names the line (`payment_operations.file_line_id`, at most one per line), so recovery knows: no
operation, nothing happened and the line runs again; a settled one is the line's outcome. Any
other cut-off line (its operation still open, or a type that writes more than one) is never run
again: its record says 9105 and points at 094 (the payment's own write-ahead operation is
settled by the reconciler). So no line runs twice, none is charged twice, and one failing line
never stops the others.

When a file has no unfinished line left it is `done`, and the file payment notice is written in
that same transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kessai.core.cards.models import VaultCard
from kessai.core.cards.vault import SealedCard
from kessai.core.context import Core, MerchantRef
from kessai.core.files.commands import (
    CANCELLED_DETAIL,
    OPEN_STATUSES,
    UNFINISHED_LINES,
    line_counts,
)
from kessai.core.files.layout import LineOutcome
from kessai.core.files.models import RESULT_COLUMNS_KEY, PaymentFile, PaymentFileLine
from kessai.core.merchants.models import Merchant
from kessai.core.notifications.outbox import record_file_notice
from kessai.core.payments import operations, repository
from kessai.core.payments.models import PaymentOperation
from kessai.db.group_commit import StatementGroup, run_statement
from kessai.db.session import dialect_of, engine_of
from kessai.kit.clock import jst_stamp
from kessai.kit.errors import KessaiError
from kessai.kit.secrets import CardNumber

log = logging.getLogger("kessai.files")

CHUNK_LINES = 100
# PostgreSQL: a chunk runs as this many stripes side by side, their commits grouped (bench/README)
GROUP_LINES = 16
CHUNKS_PER_LANE = 4  # a pass's budget: this many chunks for each lane
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
    # The claim left no pending line of the file behind: only then can this chunk be its last.
    last: bool = True


def run_due(core: Core, *, chunks: int | None = None, lanes: int = 1) -> int:
    """One pass: settle lines left by dead workers, then run up to `chunks` chunks (each of the
    file whose turn is oldest; default `CHUNKS_PER_LANE` per lane) on `lanes` threads. Returns the
    number of lines run."""
    if core.file_lines is None:
        return 0
    recover_stale(core)
    turns = _Turns(chunks if chunks is not None else CHUNKS_PER_LANE * lanes)
    if lanes <= 1:
        ran = _lane(core, turns)
    else:
        with ThreadPoolExecutor(lanes, thread_name_prefix="kessai-file-lane") as pool:
            ran = sum(pool.map(lambda _: _lane(core, turns), range(lanes)))
    for file_id in turns.last_files():  # a lane's last chunk may have ended before a neighbour's
        finish_if_complete(core, file_id)
    return ran


class _Turns:
    """A pass's chunks, claimed one at a time by its lanes: the lock keeps this process's claims
    apart (another worker process is kept apart by the database: SKIP LOCKED, BEGIN IMMEDIATE).
    The first claim that finds no work ends the pass for every lane."""

    def __init__(self, chunks: int) -> None:
        self._left = chunks
        self._lock = threading.Lock()
        self._last: set[int] = set()

    def claim(self, core: Core) -> Chunk | None:
        with self._lock:
            if self._left <= 0:
                return None
            chunk = claim_chunk(core)
            self._left = self._left - 1 if chunk is not None else 0
            if chunk is not None and chunk.last:
                self._last.add(chunk.file_id)
            return chunk

    def last_files(self) -> set[int]:
        with self._lock:
            return set(self._last)


def _lane(core: Core, turns: _Turns) -> int:
    """One lane: claim a chunk and run it, until the pass's chunks are used up. On PostgreSQL the
    chunk runs in stripes with grouped commits (`run_chunk_grouped`); on SQLite its lines run in
    order, and a chunk whose telegram kind runs pinned (020–023) holds one connection while it
    runs, as the telegram does: one pool checkout per chunk instead of one per statement."""
    assert core.file_lines is not None
    ran = 0
    grouped = dialect_of(core.sessions) == "postgresql"
    with _line_threads() if grouped else nullcontext(None) as threads:
        while (chunk := turns.claim(core)) is not None:
            if threads is not None:
                ran += run_chunk_grouped(core, chunk, threads)
            else:
                pinned = core.file_lines.pinned(chunk.file_type)
                with core.pinned() if pinned else nullcontext(core) as lane_core:
                    ran += run_chunk(lane_core, chunk)
            if chunk.last:  # a chunk with lines still pending behind it never closes its file
                finish_if_complete(core, chunk.file_id)
    return ran


def _line_threads() -> ThreadPoolExecutor:
    """A lane's threads, one for each stripe of a chunk (a group needs every member running)."""
    return ThreadPoolExecutor(GROUP_LINES, thread_name_prefix="kessai-file-line")


def claim_chunk(core: Core, size: int = CHUNK_LINES) -> Chunk | None:
    """Take up to `size` pending lines of the open file whose turn is oldest; None: no work."""
    now = core.clock.now()
    with core.sessions.begin() as session:
        for file in _open_files(session):
            pending = _pending_lines(session, file.id, size + 1)  # one more: any left behind?
            file.turn_at = now
            if not pending:
                continue  # every line taken or done: finish_if_complete closes it
            ids = [line_id for line_id, _ in pending]
            _mark(session, ids[:size], "pending", "claimed", now)
            _remember_claimed(file.id, pending[:size][-1][1])
            file.status = "running"
            merchant = MerchantRef.of(session.get_one(Merchant, file.merchant_id))
            return Chunk(
                file.id, merchant, file.file_type, tuple(ids[:size]), last=len(ids) <= size
            )
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


# file id → the last line number this process claimed of it. The status is part of the claim's
# index key, so every line claimed leaves a dead `pending` entry behind until VACUUM: a claim that
# started at line 1 waded through all of them (over a quarter of the busy backends late in a
# 100,000-line file, bench/README). A claim starts after the mark and looks behind it
# only when it finds less than it wants (the file's end, or lines requeued by `recover_stale` or
# claimed by another process's mark): no pending line is ever passed over for good.
_CLAIMED_THROUGH: dict[int, int] = {}


def _pending_lines(session: Session, file_id: int, size: int) -> list[tuple[int, int]]:
    """Up to `size` pending lines of the file, as (id, line_no), in file order."""
    after = _CLAIMED_THROUGH.get(file_id, 0)
    lines = _pending_after(session, file_id, after, size)
    if len(lines) < size and after:
        lines = _pending_after(session, file_id, 0, size)
    return lines


def _pending_after(session: Session, file_id: int, after: int, size: int) -> list[tuple[int, int]]:
    rows = session.execute(
        select(PaymentFileLine.id, PaymentFileLine.line_no)
        .where(
            PaymentFileLine.file_id == file_id,
            PaymentFileLine.status == "pending",
            PaymentFileLine.line_no > after,
        )
        .order_by(PaymentFileLine.line_no)
        .limit(size)
    )
    return [(int(line_id), int(line_no)) for line_id, line_no in rows]


def _remember_claimed(file_id: int, line_no: int) -> None:
    if len(_CLAIMED_THROUGH) > 1024 and file_id not in _CLAIMED_THROUGH:
        _CLAIMED_THROUGH.clear()  # files finished by another process are never forgotten here
    _CLAIMED_THROUGH[file_id] = line_no


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
        finished = (line_id, _run_line(core, chunk, line_id, fields))
        ran += 1
    if finished is not None:
        _record(core, *finished)
    return ran


def run_chunk_grouped(core: Core, chunk: Chunk, threads: ThreadPoolExecutor) -> int:
    """`run_chunk` on PostgreSQL: the chunk's lines in `GROUP_LINES` stripes run side by side, one
    thread each, through the same code (`run_chunk`), and their one-statement transactions are
    committed together (`StatementGroup`): up to `GROUP_LINES` lines' write-ahead marks in one
    commit, their commands' first transactions in the next, and so on, instead of a commit each.
    Lines about the same payment or customer share a stripe, so they run one after the other in
    file order (a line's in-flight check must see the one before it settled)."""
    stripes = _stripes(core, chunk.line_ids, GROUP_LINES)
    group = StatementGroup(engine_of(core.sessions), len(stripes))
    try:
        return sum(threads.map(partial(_run_stripe, core, chunk, group), stripes))
    finally:
        group.close()


def _run_stripe(core: Core, chunk: Chunk, group: StatementGroup, line_ids: list[int]) -> int:
    with group.member():
        return run_chunk(core, replace(chunk, line_ids=tuple(line_ids)))


def _stripes(core: Core, line_ids: tuple[int, ...], count: int) -> list[list[int]]:
    """The chunk's lines dealt into at most `count` stripes, in file order within each; lines about
    the same payment (trading_id, payment_id) or the same customer's stored cards go to the stripe
    of the first such line (a line naming two keys already in two stripes joins the first)."""
    with core.sessions() as session:
        rows = session.execute(
            select(PaymentFileLine.id, PaymentFileLine.fields).where(
                PaymentFileLine.id.in_(line_ids)
            )
        ).all()
    keys = {int(row[0]): _stripe_keys(row[1] or {}) for row in rows}
    stripes: list[list[int]] = [[] for _ in range(min(count, len(line_ids)))]
    home: dict[str, int] = {}
    for line_id in line_ids:
        line_keys = keys.get(line_id, ())
        taken = [home[key] for key in line_keys if key in home]
        stripe = taken[0] if taken else min(range(len(stripes)), key=lambda n: len(stripes[n]))
        for key in line_keys:
            home.setdefault(key, stripe)
        stripes[stripe].append(line_id)
    return stripes


def _stripe_keys(fields: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(
        f"{name}={fields[name]}"
        for name in ("trading_id", "payment_id", "customer_id")
        if fields.get(name)
    )


def _start(
    core: Core, line_id: int, finished: tuple[int, LineOutcome] | None = None
) -> dict[str, str] | None:
    """The write-ahead mark: `claimed` → `running`, committed with the previous line's outcome
    (`finished`); the line's fields (with its card number opened from the vault), or None when
    the line is no longer ours (cancelled, re-queued). On PostgreSQL one statement
    (`START_LINE`); SQLite, and an outcome with result columns of its own (024), take the ORM."""
    if dialect_of(core.sessions) == "postgresql" and not (finished and finished[1].columns):
        return _start_in_one_statement(core, line_id, finished)
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
        card = session.get(VaultCard, row.vault_card_id) if row.vault_card_id else None
        return _line_fields(core, row.fields, card)


def _line_fields(
    core: Core, stored: Mapping[str, Any] | None, card: VaultCard | SealedCard | None
) -> dict[str, str]:
    fields = {str(k): str(v) for k, v in (stored or {}).items()}
    if card is not None:
        fields["card_number"] = _opened(core, card)
    return fields


# The previous line's outcome (its transaction 2) and this line's write-ahead mark, with the
# line's request and sealed card, in one round trip: one statement is one transaction in
# autocommit (`one_statement`). The two UPDATEs touch different rows (a line is never both).
START_LINE = """\
WITH finished AS (
  UPDATE payment_file_lines
  SET status = 'done', result = %(result)s, response_code = %(response_code)s,
    response_detail = %(response_detail)s, payment_id = %(payment_id)s,
    customer_card_id = %(customer_card_id)s, updated_at = %(now)s
  WHERE id = CAST(%(finished_id)s AS bigint) AND status = 'running'
), line AS (
  UPDATE payment_file_lines SET status = 'running', updated_at = %(now)s
  WHERE id = CAST(%(line_id)s AS bigint) AND status = 'claimed'
  RETURNING fields, vault_card_id
)
SELECT line.fields, v.key_id, v.wrapped_key, v.nonce, v.ciphertext, v.fingerprint, v.masked,
  v.brand
FROM line LEFT JOIN vault_cards v ON v.id = line.vault_card_id
"""


def _start_in_one_statement(
    core: Core, line_id: int | None, finished: tuple[int, LineOutcome] | None
) -> dict[str, str] | None:
    """`_start` on PostgreSQL; with `line_id` None it only records `finished`."""
    done_id, outcome = finished if finished is not None else (None, LineOutcome("", "", ""))
    values = {
        "finished_id": done_id,
        "line_id": line_id,
        **_outcome_values(outcome),
        "now": core.clock.now(),
    }
    row = run_statement(core.sessions, START_LINE, values)
    if row is None:
        return None
    card = None if row[1] is None else SealedCard(*row[1:8])
    return _line_fields(core, row[0], card)


def _opened(core: Core, card: VaultCard | SealedCard) -> str:
    number: CardNumber = core.vault.open(card)
    return number.reveal()


def _run_line(core: Core, chunk: Chunk, line_id: int, fields: Mapping[str, str]) -> LineOutcome:
    """The line through its telegram's handler; anything unexpected is this line's error only. A
    one-operation line's operation names the line (`recover_stale` reads it after a kill)."""
    assert core.file_lines is not None
    one = core.file_lines.one_operation(chunk.file_type)
    try:
        with operations.for_file_line(line_id) if one else nullcontext():
            return core.file_lines.run(core, chunk.merchant, chunk.file_type, fields)
    except KessaiError as error:
        return LineOutcome("1", error.code, error.detail)
    except Exception:
        log.exception("file line %s of file %s failed", fields.get("trading_id", ""), chunk.file_id)
        return LineOutcome("1", "E001", KessaiError("E001").detail)


def _record(core: Core, line_id: int, outcome: LineOutcome) -> None:
    """The chunk's last line's outcome, in a transaction of its own."""
    if dialect_of(core.sessions) == "postgresql" and not outcome.columns:
        _start_in_one_statement(core, None, (line_id, outcome))
        return
    with core.sessions.begin() as session:
        _record_in(session, line_id, outcome, core.clock.now())


def _outcome_values(outcome: LineOutcome) -> dict[str, object]:
    return {
        "result": outcome.result,
        "response_code": outcome.response_code[:8],
        "response_detail": outcome.response_detail[:256],
        "payment_id": outcome.payment_id,
        "customer_card_id": outcome.customer_card_id,
    }


def _record_in(session: Session, line_id: int, outcome: LineOutcome, now: datetime) -> None:
    """A line's outcome (its transaction 2); only a line still `running` takes it."""
    values: dict[str, object] = {"status": "done", **_outcome_values(outcome), "updated_at": now}
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
    """Lines left by dead workers: stale `claimed` ones go back to `pending`; stale `running` ones
    are settled by what they did (`_after_cut_off`); their files finish if nothing else is left."""
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
        cut_off = session.execute(
            select(
                PaymentFileLine.id,
                PaymentFileLine.line_no,
                PaymentFile.id,
                PaymentFile.receipt_id,
                PaymentFile.file_type,
                PaymentFile.status,
            )
            .join(PaymentFile, PaymentFile.id == PaymentFileLine.file_id)
            .where(
                PaymentFileLine.status == "running",
                PaymentFileLine.updated_at < now - STALE_RUNNING,
            )
            .order_by(PaymentFileLine.id)
        ).all()
        settled = [
            (file_id, receipt_id, line_no, how)
            for line_id, line_no, file_id, receipt_id, file_type, file_status in cut_off
            if (how := _after_cut_off(core, session, line_id, file_type, file_status, now))
        ]
    for _, receipt_id, line_no, how in settled:
        log.warning(
            "file %s line %s was cut off mid-call by a dead worker: %s", receipt_id, line_no, how
        )
    for file_id in {*(settled_file for settled_file, *_ in settled), *_finished_but_open(core)}:
        finish_if_complete(core, file_id)
    return int(getattr(requeued, "rowcount", 0) or 0) + len(settled)


def _after_cut_off(
    core: Core, session: Session, line_id: int, file_type: str, file_status: str, now: datetime
) -> str | None:
    """A `running` line whose worker died, settled by what it did; says how, for the log (None:
    another worker's recovery got there first).

    A one-operation line (020, 021, 022) with no operation reached nobody: it runs again (or, in
    a cancelled file, is cancelled like the lines that never ran). Were its worker only slow, not
    dead, its late operation and the rerun's could not both be written: an operation names its
    line, and at most one may (`uq_payment_operations_file_line`). With its one operation settled,
    the line's outcome is that operation's, as 094 would show it. Otherwise (its operation still
    open, or a type whose line writes more) it is closed with 9105 and never run again."""
    assert core.file_lines is not None
    ops = session.execute(
        select(
            PaymentOperation.status,
            PaymentOperation.response_code,
            PaymentOperation.response_detail,
            PaymentOperation.payment_id,
        ).where(PaymentOperation.file_line_id == line_id)
    ).all()
    values: dict[str, object]
    if core.file_lines.one_operation(file_type) and not ops:
        if file_status in OPEN_STATUSES:
            values, how = {"status": "pending"}, "it reached nobody and runs again"
        else:
            values = {
                "status": "cancelled",
                "result": "1",
                "response_code": "9105",
                "response_detail": CANCELLED_DETAIL,
            }
            how = "it reached nobody and its file is cancelled"
    elif core.file_lines.one_operation(file_type) and ops[0].status not in repository.OPEN_STATUSES:
        status, code, detail, payment_id = ops[0]
        outcome = LineOutcome(
            "0" if status == "succeeded" else "1", code, detail, payment_id=str(payment_id)
        )
        values = {"status": "done", **_outcome_values(outcome)}
        how = f"its operation on payment {payment_id} had ended {status}; that is its outcome"
    else:
        last = str(ops[-1].payment_id) if ops else ""
        values = {
            "status": "done",
            "result": "1",
            "response_code": "9105",
            "response_detail": INTERRUPTED_DETAIL,
            "payment_id": last,
        }
        how = "recorded as 9105 (see 094" + (f" for payment {last})" if last else ")")
    taken = session.execute(
        update(PaymentFileLine)
        .where(
            PaymentFileLine.id == line_id,
            PaymentFileLine.status == "running",
            PaymentFileLine.updated_at < now - STALE_RUNNING,
        )
        .values(**values, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return how if getattr(taken, "rowcount", 0) else None


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
    transaction. Idempotent: the file row is locked and its status read again. While lines are
    still unfinished it costs one indexed read and takes no lock (the lanes' claims lock file
    rows with SKIP LOCKED: a lock held here would have them skip the file)."""
    with core.sessions() as session:
        if _unfinished(session, file_id):
            return False
    now = core.clock.now()
    with core.sessions.begin() as session:
        file = session.get_one(PaymentFile, file_id, with_for_update=True)
        if file.status not in OPEN_STATUSES or _unfinished(session, file_id):
            return False
        file.done_lines, file.error_lines = line_counts(session, file_id)
        file.status, file.finished_at = "done", now
        _CLAIMED_THROUGH.pop(file_id, None)
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
