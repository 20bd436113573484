"""Master-key rotation (`kessai keys rotate`): re-wrap every card's data key under the active key.

Without downtime: the server keeps running throughout. Each batch of cards is its own short
transaction that re-reads its rows (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE`
serialises writers), so a concurrent rotation cannot clobber a row, and a payment waits at most one
batch. Servers seal new cards under the new key as soon as their ring notices it (file rings watch
``ACTIVE``; env rings after the rolling restart that put the new key first). A card sealed under an
old key meanwhile is caught by a later batch, because every batch asks again for rows not on the
active key. Interrupted, the finished batches stay done and a re-run with ``new_key=False``
finishes the job; re-running it when everything is on the active key changes nothing.

Only counts and key ids are logged or reported: never a card number, never a key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kessai.core.cards.keyring import Keyring, KeySource, check_stored_key_ids
from kessai.core.cards.models import VaultCard
from kessai.core.cards.vault import Vault, VaultIntegrityError

log = logging.getLogger(__name__)

MAX_FAILED_CARDS: Final = 100  # beyond this a key is wrong, not a row: stop and say so

Progress = Callable[[int, int], None]


class RotationError(RuntimeError):
    """The rotation stopped. Batches already committed stay re-wrapped; re-run once fixed."""


@dataclass(frozen=True)
class RotationReport:
    """What a rotation did. No secrets, so it can be printed and logged as is."""

    active_key_id: str
    created_key_id: str | None  # the new key file, when this run made one
    key_source: KeySource
    rewrapped: int
    batches: int
    failed_card_ids: tuple[int, ...]  # rows that failed authentication; left on their old key
    remaining_by_key_id: dict[str, int] = field(default_factory=dict)  # should be empty
    retirable_key_ids: tuple[str, ...] = ()  # in the ring, not active, no card uses them

    @property
    def complete(self) -> bool:
        return not self.remaining_by_key_id

    def lines(self) -> list[str]:
        """A summary for the operator, in the order they need it."""
        out = [f"active master key: {self.active_key_id}"]
        if self.created_key_id:
            out.append(f"created {self.created_key_id}: back up the key directory now")
        out.append(f"re-wrapped {self.rewrapped} cards in {self.batches} batches")
        out += [f"still on {k}: {n} cards" for k, n in sorted(self.remaining_by_key_id.items())]
        if self.failed_card_ids:
            shown = ", ".join(str(i) for i in self.failed_card_ids[:20])
            out.append(f"failed authentication, left unchanged: vault card ids {shown}")
        out += [f"unused, can be retired: {key_id}" for key_id in self.retirable_key_ids]
        return out


def rotate(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    *,
    new_key: bool = True,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> RotationReport:
    """Re-wrap every card not on the active master key, one short transaction per batch.

    File rings get a new active key first when `new_key` (``kessai keys rotate``); with
    ``new_key=False`` (``--resume``) an interrupted rotation finishes onto the current active key.
    Env rings always use their active key (the first entry of ``KESSAI_MASTER_KEY``)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    with session_factory() as session:
        check_stored_key_ids(session, keyring)  # a missing key is reported before anything changes
    created = keyring.add_new_active() if new_key and keyring.source == "file" else None
    total = _count_not_on(session_factory, keyring.active.key_id)
    log.info("vault rotation started", extra={"key_id": keyring.active.key_id, "cards": total})
    rewrapped, batches, failed = _rewrap_all(session_factory, keyring, batch_size, total, progress)
    report = _report(session_factory, keyring, created, rewrapped, batches, failed)
    log.info(
        "vault rotation finished",
        extra={"key_id": report.active_key_id, "rewrapped": rewrapped, "failed": len(failed)},
    )
    return report


def _rewrap_all(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    batch_size: int,
    total: int,
    progress: Progress | None,
) -> tuple[int, int, list[int]]:
    vault = Vault(keyring)
    done, batches, failed = 0, 0, list[int]()
    while True:
        # Ask for the active key each batch: if another rotation made a newer one, follow it.
        active_id = keyring.active.key_id
        moved, seen = _rewrap_batch(session_factory, vault, active_id, batch_size, failed)
        if seen == 0:
            return done, batches, failed
        done, batches = done + moved, batches + 1
        total = max(total, done)  # cards sealed under an old key meanwhile grow the job
        if progress is not None:
            progress(done, total)  # after the commit: a slow callback holds no lock


def _rewrap_batch(
    session_factory: sessionmaker[Session],
    vault: Vault,
    active_id: str,
    batch_size: int,
    failed: list[int],
) -> tuple[int, int]:
    """One transaction: lock up to `batch_size` rows not on `active_id`, re-wrap them, commit.

    Returns (re-wrapped, rows looked at). Rows that fail authentication go to `failed` and are
    skipped from then on, so one damaged row cannot stop the others or loop forever."""
    stmt = (
        select(VaultCard)
        .where(VaultCard.key_id != active_id)
        .order_by(VaultCard.id)
        .limit(batch_size)
        .with_for_update()  # rendered on PostgreSQL; SQLite already holds its single write lock
    )
    if failed:
        stmt = stmt.where(VaultCard.id.not_in(failed))
    moved = 0
    with session_factory.begin() as session:
        rows = session.scalars(stmt).all()
        for row in rows:
            try:
                if vault.rewrap(row, active_id):
                    moved += 1
            except VaultIntegrityError:
                failed.append(row.id)
                log.warning("vault card failed authentication", extra={"vault_card_id": row.id})
    if len(failed) > MAX_FAILED_CARDS:
        raise RotationError(
            f"more than {MAX_FAILED_CARDS} cards failed authentication (first ids: {failed[:10]}). "
            "A key file probably holds a different key than the one its name says; restore the "
            "original key files from backup and run the rotation again. Cards already re-wrapped "
            "are fine."
        )
    return moved, len(rows)


def _count_not_on(session_factory: sessionmaker[Session], key_id: str) -> int:
    with session_factory() as session:
        stmt = select(func.count()).select_from(VaultCard).where(VaultCard.key_id != key_id)
        return int(session.scalar(stmt) or 0)


def _report(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    created: str | None,
    rewrapped: int,
    batches: int,
    failed: list[int],
) -> RotationReport:
    active_id = keyring.active.key_id
    with session_factory() as session:
        counts = check_stored_key_ids(session, keyring)
    remaining = {key_id: n for key_id, n in counts.items() if key_id != active_id}
    retirable = tuple(k for k in keyring.key_ids if k != active_id and k not in counts)
    return RotationReport(
        active_key_id=active_id,
        created_key_id=created,
        key_source=keyring.source,
        rewrapped=rewrapped,
        batches=batches,
        failed_card_ids=tuple(failed),
        remaining_by_key_id=remaining,
        retirable_key_ids=retirable,
    )
