"""Master-key rotation on a real database, while cards keep being sealed.

Runs on a SQLite file and, when the run is on PostgreSQL (``KESSAI_TEST_DB=postgresql``, the
server of ``KESSAI_TEST_DATABASE_URL`` as every other test), on a PostgreSQL schema of its own
(created and dropped here, so test runs sharing that database do not meet).
"""

from __future__ import annotations

import base64
import os
import random
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import kessai.db.models  # noqa: F401  (every table in the metadata)
from kessai.config import Settings
from kessai.core.cards.keyring import Keyring, MissingMasterKeyError, load_keyring
from kessai.core.cards.models import VaultCard
from kessai.core.cards.rotation import RotationReport, rotate
from kessai.core.cards.vault import Vault, store_card
from kessai.db.base import Base
from kessai.db.session import make_engine, make_sessionmaker
from kessai.kit.secrets import CardNumber
from tests.conftest import PG_ADMIN_URL, test_db_kind

pytestmark = pytest.mark.committing

CARDS = 1200
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


@dataclass
class Db:
    sessions: sessionmaker[Session]
    sqlite_file: Path | None


@pytest.fixture(params=["sqlite", "postgresql"] if test_db_kind() == "postgresql" else ["sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        yield from _sqlite_db(tmp_path / "kessai.db")
    else:
        yield from _postgresql_db()


def _sqlite_db(path: Path) -> Iterator[Db]:
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    yield Db(make_sessionmaker(engine), path)
    engine.dispose()


def _postgresql_db() -> Iterator[Db]:
    url = PG_ADMIN_URL
    schema = f"kessai_rotation_{secrets.token_hex(6)}"  # our own schema: others may share the DB
    admin = make_engine(url, pool_size=1, max_overflow=0)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        Base.metadata.create_all(engine)
        yield Db(make_sessionmaker(engine), None)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Db]:
    yield from _sqlite_db(tmp_path / "kessai.db")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", master_key=None)


def make_pans(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    pans: set[str] = set()
    while len(pans) < count:
        pans.add("4" + "".join(rng.choice("0123456789") for _ in range(15)))
    return sorted(pans)


def seal_all(db: Db, keyring: Keyring, pans: list[str]) -> dict[int, str]:
    vault = Vault(keyring)
    with db.sessions.begin() as session:
        rows = {pan: store_card(session, vault, CardNumber(pan), NOW) for pan in pans}
        session.flush()
        return {row.id: pan for pan, row in rows.items()}


def snapshot(db: Db) -> dict[int, VaultCard]:
    with db.sessions() as session:
        return {row.id: row for row in session.scalars(select(VaultCard))}


def seal_one(db: Db, keyring: Keyring, pan: str) -> int:
    with db.sessions.begin() as session:
        row = store_card(session, Vault(keyring), CardNumber(pan), NOW)
        session.flush()
        return row.id


def b64(secret: bytes) -> str:
    return base64.b64encode(secret).decode()


# --- the rotation ---------------------------------------------------------------------------------


class ConcurrentSealing:
    """Seals cards from other threads while the rotation runs, as a live server would.

    After the first batch it starts a thread sealing with the server's own ring (which must follow
    the new key by itself) and with a stale ring that still has only the old key; after the second
    batch it waits for that thread. The stale card lands mid-rotation and must still be moved."""

    def __init__(self, db: Db, server_ring: Keyring, stale_ring: Keyring) -> None:
        self.db, self.server_ring, self.stale_ring = db, server_ring, stale_ring
        self.calls: list[tuple[int, int]] = []
        self.sealed: dict[int, str] = {}
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._seal)

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))
        if len(self.calls) == 1:
            self._thread.start()
        elif len(self.calls) == 2:
            self._thread.join(timeout=60)

    def _seal(self) -> None:
        try:
            for pan in make_pans(10, seed=99):
                self.sealed[seal_one(self.db, self.server_ring, pan)] = pan
            stale_pan = "4999999999999995"
            self.sealed[seal_one(self.db, self.stale_ring, stale_pan)] = stale_pan
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            self.errors.append(exc)


def test_rotation_moves_every_card_to_a_new_key_while_cards_are_sealed(
    db: Db, settings: Settings
) -> None:
    keyring = load_keyring(settings)
    old_id = keyring.active.key_id
    cards = seal_all(db, keyring, make_pans(CARDS))
    before = snapshot(db)
    server_ring = load_keyring(settings)  # a running server's ring, loaded before the new key
    stale_ring = Keyring.in_memory({old_id: keyring.active.secret}, old_id, keyring.fingerprint_key)
    sealing = ConcurrentSealing(db, server_ring, stale_ring)

    report = rotate(db.sessions, keyring, batch_size=500, progress=sealing)

    assert not sealing.errors
    new_id = report.active_key_id
    assert new_id != old_id and report.created_key_id == new_id
    assert report.rewrapped == CARDS + 1  # every old card plus the stale one sealed meanwhile
    assert report.complete and report.remaining_by_key_id == {}
    assert report.retirable_key_ids == (old_id,)
    assert sealing.calls[-1] == (CARDS + 1, CARDS + 1)
    summary = "\n".join(report.lines())
    assert f"unused, can be retired: {old_id}" in summary
    assert b64(keyring.active.secret) not in summary
    after = snapshot(db)
    assert {row.key_id for row in after.values()} == {new_id}
    server = Vault(server_ring)  # opens re-wrapped cards with a key it did not have at start
    for row_id, pan in {**cards, **sealing.sealed}.items():
        assert server.open(after[row_id]).reveal() == pan
    for row_id, old in before.items():
        new = after[row_id]
        assert (new.fingerprint, new.ciphertext, new.nonce) == (
            old.fingerprint,
            old.ciphertext,
            old.nonce,
        )
        assert new.wrapped_key != old.wrapped_key


def test_rerunning_a_finished_rotation_changes_nothing(db: Db, settings: Settings) -> None:
    keyring = load_keyring(settings)
    seal_all(db, keyring, make_pans(50))
    first = rotate(db.sessions, keyring, batch_size=20)
    before = snapshot(db)

    again = rotate(db.sessions, keyring, new_key=False, batch_size=20)

    assert (again.rewrapped, again.batches, again.created_key_id) == (0, 0, None)
    assert again.active_key_id == first.active_key_id
    assert again.complete
    after = snapshot(db)
    assert {i: r.wrapped_key for i, r in after.items()} == {
        i: r.wrapped_key for i, r in before.items()
    }


def test_interrupted_rotation_finishes_on_resume(db: Db, settings: Settings) -> None:
    keyring = load_keyring(settings)
    cards = seal_all(db, keyring, make_pans(120))

    def stop_after_first_batch(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate(db.sessions, keyring, batch_size=50, progress=stop_after_first_batch)
    new_id = keyring.active.key_id
    halfway = [row.key_id for row in snapshot(db).values()]
    assert halfway.count(new_id) == 50  # the committed batch stays done

    resumed = rotate(db.sessions, load_keyring(settings), new_key=False, batch_size=50)

    assert (resumed.active_key_id, resumed.rewrapped, resumed.created_key_id) == (new_id, 70, None)
    assert resumed.complete
    vault = Vault(keyring)
    assert {i: vault.open(r).reveal() for i, r in snapshot(db).items()} == cards


def test_env_ring_rotates_to_its_first_entry_and_a_rerun_is_a_no_op(db: Db, tmp_path: Path) -> None:
    old, new = os.urandom(32), os.urandom(32)
    home = tmp_path / "env-home"
    before = load_keyring(Settings(home=home, master_key=SecretStr(f"kold:{b64(old)}")))
    cards = seal_all(db, before, make_pans(30))
    rotated = SecretStr(f"knew:{b64(new)},kold:{b64(old)}")
    keyring = load_keyring(Settings(home=home, master_key=rotated))

    report = rotate(db.sessions, keyring, batch_size=7)
    again = rotate(db.sessions, keyring, batch_size=7)

    assert (report.active_key_id, report.rewrapped, report.created_key_id) == ("knew", 30, None)
    assert report.retirable_key_ids == ("kold",)
    assert (again.rewrapped, again.batches) == (0, 0)
    only_new = Vault(Keyring.in_memory({"knew": new}, "knew", keyring.fingerprint_key))
    assert {i: only_new.open(r).reveal() for i, r in snapshot(db).items()} == cards


def test_rotation_refuses_before_any_change_when_a_stored_key_is_missing(
    db: Db, settings: Settings
) -> None:
    keyring = load_keyring(settings)
    old_id = keyring.active.key_id
    seal_all(db, keyring, make_pans(5))
    before = snapshot(db)
    lacking = Keyring.in_memory({"kother": os.urandom(32)}, "kother", keyring.fingerprint_key)

    with pytest.raises(MissingMasterKeyError, match=f"{old_id} \\(5 cards\\)"):
        rotate(db.sessions, lacking)

    assert {i: r.wrapped_key for i, r in snapshot(db).items()} == {
        i: r.wrapped_key for i, r in before.items()
    }


def test_sqlite_file_never_holds_a_card_number(sqlite_db: Db, settings: Settings) -> None:
    db = sqlite_db
    assert db.sqlite_file is not None
    keyring = load_keyring(settings)
    pans = make_pans(CARDS)
    seal_all(db, keyring, pans)
    report: RotationReport = rotate(db.sessions, keyring, batch_size=500)
    assert report.complete

    data = read_database_files(db.sqlite_file)
    masked = CardNumber(pans[0]).display().encode()
    assert masked in data  # the scan does see stored rows (first 6 + last 4 are kept in clear)
    for pan in pans:
        assert pan.encode("ascii") not in data
    for pan in pans[:50]:
        assert pan.encode("utf-16-le") not in data
        assert pan.encode("utf-16-be") not in data


def read_database_files(path: Path) -> bytes:
    """The main file and its WAL and shared-memory files: recent writes live in the WAL."""
    names = (path.name, path.name + "-wal", path.name + "-shm")
    found = [path.with_name(name) for name in names if path.with_name(name).exists()]
    return b"".join(candidate.read_bytes() for candidate in found)
