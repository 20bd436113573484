"""Authenticating telegrams (P002) without a database read on every request.

Every telegram carries the merchant's credentials. The merchant's row is cached for a few seconds
per process; the password is still checked against its keyed hash on every request. A mismatch
re-reads the row once before answering P002, so a password rotated a moment ago works at once;
an old password keeps working for at most `ttl` seconds after a rotation.

Credentials are read in one canonical form, as the protocol spells them (merchant_id digits 9,
connect_id and connect_password alnum 32): ASCII digits without a leading zero, ASCII letters and
digits. Anything else — full-width or Unicode digits, a padded zero, a space — is refused with P002
before anything is compared, so `int()` never reads "²" or "０４２" as a merchant and
`compare_digest` never sees a non-ASCII string.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from kessai.core.merchants import credentials
from kessai.core.merchants.models import Merchant
from kessai.core.merchants.telegram_hash import TelegramKeys
from kessai.kit.errors import AuthError

MERCHANT_ID = re.compile(r"[1-9][0-9]{0,8}")
CREDENTIAL = re.compile(r"[0-9A-Za-z]{1,32}")


@dataclass(frozen=True, slots=True)
class MerchantIdentity:
    id: int
    connect_id: str
    password_hash: str
    mode: str
    methods: tuple[str, ...]
    clock_offset_seconds: int = 0
    # How module telegrams may reach us (`access.py`, `telegram_hash.py`).
    module_paths: tuple[str, ...] = ("n",)
    ip_allow_list: tuple[str, ...] = ()
    telegram_keys: TelegramKeys | None = None


def is_canonical(merchant_id: str, connect_id: str, password: str) -> bool:
    return bool(
        MERCHANT_ID.fullmatch(merchant_id)
        and CREDENTIAL.fullmatch(connect_id)
        and CREDENTIAL.fullmatch(password)
    )


class Authenticator:
    def __init__(self, sessions: sessionmaker[Session], secret: bytes, *, ttl: float = 5.0):
        self._sessions = sessions
        self._secret = secret
        self._ttl = ttl
        self._cache: dict[int, tuple[float, MerchantIdentity]] = {}
        self._lock = threading.Lock()

    def authenticate(
        self,
        merchant_id: str,
        connect_id: str,
        password: str,
        sessions: sessionmaker[Session] | None = None,
    ) -> MerchantIdentity:
        """The merchant these credentials belong to, or AuthError P002 — the same answer for an
        unknown merchant, a wrong connect ID and a wrong password. `sessions`: read through these
        (the request's pinned connection) rather than the authenticator's own."""
        if not is_canonical(merchant_id, connect_id, password):
            raise AuthError("P002")
        key = int(merchant_id)
        identity = self._cached(key)
        if identity is None or not self._matches(identity, connect_id, password):
            identity = self._load(key, sessions or self._sessions)
            if identity is None or not self._matches(identity, connect_id, password):
                raise AuthError("P002")
        return identity

    def _matches(self, identity: MerchantIdentity, connect_id: str, password: str) -> bool:
        same_id = secrets.compare_digest(identity.connect_id, connect_id)
        same_password = credentials.password_matches(self._secret, password, identity.password_hash)
        return same_id and same_password

    def _cached(self, merchant_id: int) -> MerchantIdentity | None:
        entry = self._cache.get(merchant_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def _load(self, merchant_id: int, sessions: sessionmaker[Session]) -> MerchantIdentity | None:
        # Committed, not rolled back: psycopg answers a ROLLBACK by deallocating every prepared
        # statement of the connection, and the command that follows would run unprepared.
        with sessions.begin() as session:
            row = session.get(Merchant, merchant_id)
            if row is None:
                return None
            identity = MerchantIdentity(
                id=row.id,
                connect_id=row.connect_id,
                password_hash=row.connect_password_hash,
                mode=row.mode,
                methods=tuple(row.methods()),
                clock_offset_seconds=row.clock_offset_seconds,
                module_paths=tuple(row.paths()),
                ip_allow_list=tuple(row.allowed_networks()),
                telegram_keys=TelegramKeys(
                    row.telegram_hash_key,
                    row.telegram_hash_key_previous,
                    row.telegram_hash_key_previous_until,
                ),
            )
        with self._lock:
            self._cache[merchant_id] = (time.monotonic() + self._ttl, identity)
        return identity

    def forget(self, merchant_id: int) -> None:
        """Drop the cached row, so the next request reads the merchant afresh (e.g. its test clock
        just moved)."""
        with self._lock:
            self._cache.pop(merchant_id, None)
