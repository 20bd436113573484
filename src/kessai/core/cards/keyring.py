"""The card vault's master key ring: the keys that wrap cards' data keys, and the fingerprint key.

A master key is 32 random bytes (AES-256) named by a short `key_id` such as `k20261127a1b2`
(`k`, the UTC date it was made, 4 random hex digits). Every sealed card records the `key_id` of the
master key that wraps its data key, so the ring must hold every key id the database still uses.

Where the keys come from, first match wins:

1. ``KESSAI_MASTER_KEY`` (`Settings.master_key`), in one of two forms:

   * one base64 32-byte key: ``KESSAI_MASTER_KEY=q3T0…=``. Its key id is derived from the key
     (``env-`` + 12 hex digits of an HMAC of the key), so a different key can never pass for it;
   * a comma list ``key_id:base64,key_id:base64,…`` whose **first entry is the active key** (the
     one new cards are sealed under); the others only open and re-wrap older cards. Base64 never
     contains ``:``, so the two forms cannot be confused. To rotate without downtime: (1) append
     the new key at the end and roll it out, so every instance can read it; (2) move it to the
     front and roll out again; (3) run ``kessai keys rotate``; (4) drop the old entry once the
     report lists it as unused.

2. Otherwise key files, created on first run::

       <var_dir>/keys/                      0700 when Kessai creates it
       <var_dir>/keys/fingerprint.key       0600  base64 32-byte HMAC key for card fingerprints
       <var_dir>/keys/master/               0700  (refused if group/other have any access)
       <var_dir>/keys/master/ACTIVE         0600  the active key id, one line
       <var_dir>/keys/master/<key_id>.key   0600  base64 32-byte master key
       <var_dir>/keys/master/.lock          0600  serialises key creation between processes

The fingerprint key is separate from the master keys on purpose. A fingerprint is HMAC-SHA-256 of
the card number, so it must not change when master keys rotate, or "same card" checks break.
Deriving it from the first-ever master key would tie it to a key that could then never be retired,
and would make that key's leak permanent. It is as sensitive as a master key: with the stored first
6 and last 4 digits, the fingerprint key lets one try the ~10**5 possible middle digits. With env
master keys the fingerprint key comes from `Settings.fingerprint_key` (``KESSAI_FINGERPRINT_KEY``)
when the settings have that field, else from the key file, which every instance must then share.

Running processes pick up a new active key by themselves: `Keyring.active` notices a changed
``ACTIVE`` file, and `Keyring.get` reloads the directory once before reporting a key as missing,
so a server keeps opening cards that `kessai keys rotate`, in another process, has just re-wrapped.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import stat
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kessai.config import Settings
from kessai.core.cards.models import VaultCard
from kessai.kit.clock import Clock, SystemClock

KEY_BYTES: Final = 32  # AES-256 and a full-strength HMAC-SHA-256 key
KEY_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")  # fits vault_cards.key_id
ACTIVE_FILE: Final = "ACTIVE"
KEY_SUFFIX: Final = ".key"
_MAKE_KEY_HINT: Final = "make one with: openssl rand -base64 32"

KeySource = Literal["env", "file"]


class KeyringError(RuntimeError):
    """The key ring cannot be used as configured. The message says what happened and what to do.

    Not a `KessaiError` on purpose: its text is for the operator and must never reach a merchant.
    """


class MissingMasterKeyError(KeyringError):
    """Cards refer to a master key id that the ring does not hold."""


@dataclass(frozen=True)
class MasterKey:
    """One master key. `repr` omits the secret, so a log line or a traceback never shows it."""

    key_id: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class _FileRingState:
    keys: dict[str, bytes]
    active_id: str
    active_stamp: tuple[int, int, int]  # ACTIVE's (inode, mtime_ns, size): cheap change detection


class Keyring:
    """The master keys (one active), the fingerprint key, and where they came from.

    Build it with `load_keyring`; `Keyring.in_memory` is for tests and tools."""

    def __init__(
        self,
        keys: Mapping[str, bytes],
        active_id: str,
        fingerprint_key: bytes,
        *,
        source: KeySource,
        master_dir: Path | None = None,
        clock: Clock | None = None,
        active_stamp: tuple[int, int, int] | None = None,
    ) -> None:
        _require_key_length(fingerprint_key, "the fingerprint key")
        for key_id, secret in keys.items():
            _require_key_id(key_id)
            _require_key_length(secret, f"master key {key_id}")
        if active_id not in keys:
            raise KeyringError(f"active master key {active_id} is not in the key ring")
        self._keys = dict(keys)
        self._active_id = active_id
        self._fingerprint_key = fingerprint_key
        self.source: KeySource = source
        self.master_dir = master_dir
        # Stat-ed at every seal: a plain string, as joining a Path and stat-ing it took 4 times as long
        self._active_file = os.fspath(master_dir / ACTIVE_FILE) if master_dir else ""
        self._clock: Clock = clock or SystemClock()
        self._active_stamp = active_stamp
        self._lock = threading.Lock()

    @classmethod
    def in_memory(
        cls, keys: Mapping[str, bytes], active_id: str, fingerprint_key: bytes
    ) -> Keyring:
        """A ring that never touches disk (tests, tools). Behaves like an env ring."""
        return cls(keys, active_id, fingerprint_key, source="env")

    def __repr__(self) -> str:
        return f"Keyring(source={self.source!r}, active={self._active_id!r}, keys={self.key_ids!r})"

    @property
    def active(self) -> MasterKey:
        """The key new cards are sealed under; re-read if another process changed ``ACTIVE``."""
        if self.source == "file" and self._active_changed():
            self.reload()
        return MasterKey(self._active_id, self._keys[self._active_id])

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    @property
    def fingerprint_key(self) -> bytes:
        return self._fingerprint_key

    def get(self, key_id: str) -> MasterKey:
        """The master key `key_id`; reloads key files once before refusing."""
        if key_id not in self._keys and self.source == "file":
            self.reload()
        secret = self._keys.get(key_id)
        if secret is None:
            raise MissingMasterKeyError(_missing_keys_message(self, {key_id: None}))
        return MasterKey(key_id, secret)

    def reload(self) -> None:
        """Re-read the key files (file rings only). Known keys stay: a retired file changes nothing
        for a running process, and a key must never vanish under a request."""
        if self.master_dir is None:
            return
        with self._lock:
            state = _read_file_ring(self.master_dir)
            self._keys = {**self._keys, **state.keys}
            self._active_id = state.active_id
            self._active_stamp = state.active_stamp

    def add_new_active(self) -> str:
        """Create a master key file, make it the active key, and return its id (file rings only).

        The key file is written and flushed to disk before ``ACTIVE`` names it, so a crash can never
        leave cards sealed under a key that was not saved."""
        if self.source != "file" or self.master_dir is None:
            raise KeyringError(
                "the master keys come from KESSAI_MASTER_KEY, so Kessai cannot add one itself. "
                f"Add an entry `new_id:base64key` ({_MAKE_KEY_HINT}) at the end of the list and "
                "roll that out, so every instance can read it; then move it to the front (the "
                "first entry is the active key), keeping the old entries after it, and roll out "
                "again; then run `kessai keys rotate`."
            )
        with _exclusive_lock(self.master_dir):
            key_id = _create_master_key_file(self.master_dir, self._clock)
            _write_active(self.master_dir, key_id)
        self.reload()
        return key_id

    def _active_changed(self) -> bool:
        try:
            stamp = _stamp(self._active_file)
        except FileNotFoundError:
            return False  # keep serving with the key we have; `load_keyring` refuses at start-up
        return stamp != self._active_stamp


def load_keyring(settings: Settings, *, clock: Clock | None = None) -> Keyring:
    """The key ring for `settings`: env keys if ``KESSAI_MASTER_KEY`` is set, else key files.

    On first run with no env key this creates the key directory, a master key and the fingerprint
    key (all 0600 in 0700 directories)."""
    keys_dir = settings.var_dir / "keys"
    if settings.master_key is not None:
        keys, active_id = parse_env_master_keys(settings.master_key.get_secret_value())
        fingerprint = _env_fingerprint_key(settings) or _load_or_create_fingerprint_key(keys_dir)
        return Keyring(keys, active_id, fingerprint, source="env", clock=clock)
    master_dir = keys_dir / "master"
    _make_private_dirs(master_dir)
    _refuse_open_dir(master_dir)
    _ensure_first_master_key(master_dir, clock or SystemClock())
    state = _read_file_ring(master_dir)
    return Keyring(
        state.keys,
        state.active_id,
        _load_or_create_fingerprint_key(keys_dir),
        source="file",
        master_dir=master_dir,
        clock=clock,
        active_stamp=state.active_stamp,
    )


def check_stored_key_ids(session: Session, keyring: Keyring) -> dict[str, int]:
    """Refuse (`MissingMasterKeyError`) if stored cards use a master key the ring lacks.

    Call at start-up and before a rotation, so a lost key is reported up front and by name instead
    of as a failed payment later. Returns the number of cards per key id."""
    stmt = select(VaultCard.key_id, func.count()).group_by(VaultCard.key_id)
    counts = {key_id: int(count) for key_id, count in session.execute(stmt).all()}
    if any(key_id not in keyring.key_ids for key_id in counts):
        keyring.reload()
    missing = {key_id: n for key_id, n in counts.items() if key_id not in keyring.key_ids}
    if missing:
        raise MissingMasterKeyError(_missing_keys_message(keyring, missing))
    return counts


def _missing_keys_message(keyring: Keyring, missing: Mapping[str, int | None]) -> str:
    listed = ", ".join(
        key_id if count is None else f"{key_id} ({count} cards)"
        for key_id, count in missing.items()
    )
    where = (
        "KESSAI_MASTER_KEY (add them as `key_id:base64` after the active key)"
        if keyring.source == "env"
        else f"the key directory {keyring.master_dir} (restore `<key_id>.key`, mode 0600)"
    )
    return (
        f"stored cards are sealed under master key(s) {listed}, which the key ring does not have "
        f"(it has {', '.join(keyring.key_ids)}). Those cards cannot be opened. Restore the key(s) "
        f"from your key backup into {where} and start again; never create a new key in their "
        "place, it cannot open them."
    )


# --- env keys -----------------------------------------------------------------------------------


def parse_env_master_keys(value: str) -> tuple[dict[str, bytes], str]:
    """Parse ``KESSAI_MASTER_KEY``: one base64 key, or ``id:base64,…`` (first = active)."""
    text = value.strip()
    if not text:
        raise KeyringError(f"KESSAI_MASTER_KEY is set but empty; {_MAKE_KEY_HINT}, or unset it")
    if ":" not in text:
        secret = _decode_key(text, "KESSAI_MASTER_KEY")
        key_id = derived_key_id(secret)
        return {key_id: secret}, key_id
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(text.split(","), start=1):
        key_id, secret = _parse_env_entry(entry.strip(), position)
        if key_id in keys:
            raise KeyringError(f"KESSAI_MASTER_KEY names key id {key_id} twice; keep one entry")
        if secret in keys.values():
            raise KeyringError(f"KESSAI_MASTER_KEY entry {position} repeats another entry's key")
        keys[key_id] = secret
    return keys, next(iter(keys))


def derived_key_id(secret: bytes) -> str:
    """The id of a bare env key: stable for the key, different for any other key."""
    return "env-" + hmac.new(secret, b"kessai/master-key-id/v1", hashlib.sha256).hexdigest()[:12]


def _parse_env_entry(entry: str, position: int) -> tuple[str, bytes]:
    key_id, sep, encoded = entry.partition(":")
    where = f"KESSAI_MASTER_KEY entry {position}"
    if not sep:
        raise KeyringError(
            f"{where} has no key id; in a list every entry is `key_id:base64key`, the first active"
        )
    _require_key_id(key_id.strip(), where)
    return key_id.strip(), _decode_key(encoded.strip(), where)


def _env_fingerprint_key(settings: Settings) -> bytes | None:
    # `Settings.fingerprint_key` (KESSAI_FINGERPRINT_KEY) is read when the settings have it, so env
    # deployments can share one fingerprint key without sharing a key directory.
    value = getattr(settings, "fingerprint_key", None)
    if isinstance(value, SecretStr):
        return _decode_key(value.get_secret_value().strip(), "KESSAI_FINGERPRINT_KEY")
    return None


# --- key files ----------------------------------------------------------------------------------


def _ensure_first_master_key(master_dir: Path, clock: Clock) -> None:
    if (master_dir / ACTIVE_FILE).exists():
        return
    with _exclusive_lock(master_dir):
        if (master_dir / ACTIVE_FILE).exists():
            return  # another process made it while we waited for the lock
        if any(master_dir.glob("*" + KEY_SUFFIX)):
            raise KeyringError(
                f"{master_dir} holds master key files but no {ACTIVE_FILE} file naming the "
                f"active one. Write the active key id into {master_dir / ACTIVE_FILE} (mode 0600) "
                "and start again; Kessai will not guess which key is active."
            )
        _write_active(master_dir, _create_master_key_file(master_dir, clock))


def _read_file_ring(master_dir: Path) -> _FileRingState:
    active_path = master_dir / ACTIVE_FILE
    active_id = _read_private_file(active_path).decode("ascii", "replace").strip()
    _require_key_id(active_id, str(active_path))
    keys: dict[str, bytes] = {}
    for path in sorted(master_dir.glob("*" + KEY_SUFFIX)):
        key_id = path.name.removesuffix(KEY_SUFFIX)
        _require_key_id(key_id, f"{path} (the file name is the key id)")
        keys[key_id] = _read_key_file(path)
    if active_id not in keys:
        raise KeyringError(
            f"{active_path} names master key {active_id}, but {master_dir} has no "
            f"{active_id}{KEY_SUFFIX}. Restore that file from your key backup, or write the id "
            "of a key that is present into ACTIVE."
        )
    return _FileRingState(keys, active_id, _stamp(active_path))


def _create_master_key_file(master_dir: Path, clock: Clock) -> str:
    for _ in range(8):  # 4 random hex digits per day: a clash is rare, and retrying is enough
        key_id = f"k{clock.now():%Y%m%d}{secrets.token_hex(2)}"
        path = master_dir / f"{key_id}{KEY_SUFFIX}"
        try:
            _create_key_file(path, secrets.token_bytes(KEY_BYTES))
        except FileExistsError:
            continue
        return key_id
    raise KeyringError(f"could not find a free master key id in {master_dir}; try again")


def _load_or_create_fingerprint_key(keys_dir: Path) -> bytes:
    path = keys_dir / "fingerprint.key"
    if not path.exists():
        _make_private_dirs(keys_dir)
        # If another process created it first, theirs is complete (see _create_key_file).
        with suppress(FileExistsError):
            _create_key_file(path, secrets.token_bytes(KEY_BYTES))
    return _read_key_file(path)


def _create_key_file(path: Path, secret: bytes) -> None:
    """Create `path` holding base64(secret), mode 0600, all or nothing; FileExistsError if present.

    The key goes to a private temporary file (O_CREAT|O_EXCL, 0600) that is flushed and then
    hard-linked to `path`: link() fails if `path` exists, and no reader sees a half-written key.
    The content is read back before anyone may use the key."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    _write_new_private_file(tmp, base64.b64encode(secret) + b"\n")
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink()
    _fsync_dir(path.parent)
    if _read_key_file(path) != secret:
        raise KeyringError(f"{path} did not read back as written; check the disk and try again")


def _write_active(master_dir: Path, key_id: str) -> None:
    """Point ``ACTIVE`` at `key_id` atomically (write a temporary file, then rename over)."""
    tmp = master_dir / f".{ACTIVE_FILE}.{secrets.token_hex(6)}.tmp"
    _write_new_private_file(tmp, key_id.encode("ascii") + b"\n")
    os.replace(tmp, master_dir / ACTIVE_FILE)
    _fsync_dir(master_dir)


def _write_new_private_file(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask can only remove bits; make the mode exact
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_key_file(path: Path) -> bytes:
    return _decode_key(_read_private_file(path).decode("ascii", "replace").strip(), str(path))


def _read_private_file(path: Path) -> bytes:
    """Read a key-ring file, refusing one that group or others may access.

    The mode is checked on the open descriptor (fstat), so the file cannot be swapped in between."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError as exc:
        raise KeyringError(f"{path} is missing; restore it from your key backup") from exc
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            raise KeyringError(
                f"{path} has mode {mode:04o}: group or others may read it, and it guards card "
                f"data. Run `chmod 600 {path}` (and check who could have copied it), then start "
                "again."
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    finally:
        os.close(fd)


def _make_private_dirs(path: Path) -> None:
    """Create `path` and its missing parents as 0700 (existing ones are left as they are)."""
    for directory in reversed((path, *path.parents)):
        if not directory.exists():
            directory.mkdir(mode=0o700)
            os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask


def _refuse_open_dir(path: Path) -> None:
    # Whoever can write the master key directory can plant a key or repoint ACTIVE.
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyringError(
            f"key directory {path} has mode {mode:04o}: others could add or swap keys. "
            f"Run `chmod 700 {path}` and start again."
        )


@contextmanager
def _exclusive_lock(master_dir: Path) -> Iterator[None]:
    """Serialise key creation between processes (server, worker, `kessai keys rotate`)."""
    fd = os.open(master_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_dir(path: Path) -> None:
    # A new or renamed file is durable only once its directory entry is: fsync the directory.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stamp(path: str | Path) -> tuple[int, int, int]:
    info = os.stat(path)
    return (info.st_ino, info.st_mtime_ns, info.st_size)


# --- checks -------------------------------------------------------------------------------------


def _decode_key(encoded: str, where: str) -> bytes:
    try:
        secret = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyringError(f"{where} is not valid base64; {_MAKE_KEY_HINT}") from exc
    _require_key_length(secret, where)
    return secret


def _require_key_length(secret: bytes, where: str) -> None:
    if len(secret) != KEY_BYTES:
        raise KeyringError(
            f"{where} holds {len(secret)} bytes; a key is exactly {KEY_BYTES} bytes (AES-256), "
            f"base64-encoded. If it guarded existing cards, restore the original from your backup; "
            f"for a new key, {_MAKE_KEY_HINT}."
        )


def _require_key_id(key_id: str, where: str = "key id") -> None:
    if not KEY_ID_PATTERN.fullmatch(key_id):
        # The id is not echoed: a mistyped env entry may have put the key where the id belongs.
        raise KeyringError(
            f"{where}: not a valid key id; use 1–32 letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
