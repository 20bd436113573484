"""The telegram hash check of `/s/…` (電文ハッシュチェック): the hash, the time window, the replays.

A merchant without a client certificate signs each module telegram with its telegram hash key:
``hc = hex(sha256(merchant_id + connect_id + connect_password + telegram_kind + telegram_version
+ trading_id [+ payment_id] [+ amount] + request_date + key))`` (paygent-protocol.md §1.1). The
face decides which parts a telegram kind has and parses each in its one canonical form
(`web/module/hashcheck.py`); here live the rules that need the clock, the keys and the database.

- `request_date` (Japan time) must be within `WINDOW` of the gateway's clock, either way.
- A signature is accepted once: `claim` writes (merchant, request_date, hc) under a unique key in a
  transaction of its own, before the telegram's effects. Its own transaction, because a card
  telegram's effects span two transactions around the acquirer's answer (there is no one
  transaction to join), and because the unique key must stop a second copy *before* either copy
  reaches the acquirer. A client that retries after a timeout signs again with a new request_date
  (the official modules and `kessai.client` compute both per request), so a retry is a new
  signature; only the very same bytes are refused.
- Rows older than the window are deleted by the next claim of the same merchant: a telegram with
  such a request_date is refused by the window before the store is asked.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kessai.core.merchants.models import TelegramReplay
from kessai.kit.clock import JST, as_utc
from kessai.kit.errors import InvalidRequest

WINDOW = timedelta(minutes=10)
# How long the previous key keeps working after `rotate-key --telegram`, unless told otherwise.
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)


def telegram_hash(parts: Sequence[str], key: str) -> str:
    """64 lowercase hex characters: SHA-256 of the parts, then the key, concatenated (ASCII)."""
    return hashlib.sha256(("".join(parts) + key).encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class TelegramKeys:
    """A merchant's telegram hash key, and the previous one while its overlap lasts."""

    current: str
    previous: str | None = None
    previous_until: datetime | None = None

    def valid_at(self, now: datetime) -> tuple[str, ...]:
        if self.previous and self.previous_until is not None and now < self.previous_until:
            return (self.current, self.previous)
        return (self.current,)


def hash_matches(parts: Sequence[str], hc: str, keys: TelegramKeys, now: datetime) -> bool:
    """Whether `hc` signs `parts` under a key valid now (every key is tried: constant work)."""
    matches = [hmac.compare_digest(telegram_hash(parts, key), hc) for key in keys.valid_at(now)]
    return any(matches)


def request_instant(request_date: str) -> datetime:
    """The instant a canonical `YYYYMMDDhhmmss` (Japan time) names; P010 for no such time."""
    d = request_date
    if len(d) != 14 or not d.isascii() or not d.isdigit():
        raise InvalidRequest("P008", field="request_date")
    numbers = (int(d[0:4]), int(d[4:6]), int(d[6:8]), int(d[8:10]), int(d[10:12]), int(d[12:14]))
    try:
        return as_utc(datetime(*numbers, tzinfo=JST))
    except ValueError:  # month 13, 31 February, hour 24 …
        raise InvalidRequest("P010", field="request_date") from None


def check_window(request_at: datetime, now: datetime) -> None:
    """P010 on request_date when it is more than `WINDOW` before or after `now`."""
    if abs(as_utc(now) - request_at) > WINDOW:
        raise InvalidRequest("P010", field="request_date")


def claim(
    sessions: sessionmaker[Session],
    *,
    merchant_id: int,
    request_date: str,
    hc: str,
    request_at: datetime,
    now: datetime,
) -> None:
    """Record a signature as used, or P010 on request_date when it was used already (a replay).

    Atomic by the unique key, on SQLite and PostgreSQL alike: of two copies racing, one commits
    and the other's insert fails."""
    try:
        with sessions.begin() as session:
            session.execute(
                delete(TelegramReplay).where(
                    TelegramReplay.merchant_id == merchant_id,
                    TelegramReplay.request_at < as_utc(now) - WINDOW,
                )
            )
            session.add(
                TelegramReplay(
                    merchant_id=merchant_id, request_date=request_date, hc=hc, request_at=request_at
                )
            )
    except IntegrityError:
        raise InvalidRequest("P010", field="request_date") from None
