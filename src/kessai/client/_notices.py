"""Receiving result notifications (決済情報差分通知, paygent-protocol.md §1.6) on the merchant's side.

The gateway POSTs a form of the notice fields plus ``hc``; the receiver checks ``hc`` with its
notification hash key and answers the body ``result=0`` (`NOTICE_ACK`). Anything else is sent
again later. Example::

    notice = verify_notice(body, hash_key=KEY, content_type=request_content_type)
    mark_paid(notice.trading_id) if notice.payment_status == "40" else ...
    return NOTICE_ACK
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from urllib.parse import parse_qsl

from kessai.client._errors import KessaiClientError

NOTICE_ACK = b"result=0"
JST = timezone(timedelta(hours=9), "JST")  # Japan has no daylight saving time
SEQ_HEADER = "kessai-payment-seq"
_SIGNED = ("payment_notice_id", "payment_id", "trading_id", "payment_type", "payment_amount")
_REQUIRED = (*_SIGNED, "payment_status", "change_date", "hc")


class NoticeVerificationError(KessaiClientError):
    """The notification is not to be trusted: a field is missing, ``hc`` does not match, the body
    cannot be read, or it is older than allowed. Answer anything but ``result=0`` (or HTTP 400)."""


@dataclass(frozen=True, slots=True)
class Notice:
    """A verified result notification. `fields` holds every form field as sent (``hc`` too)."""

    payment_notice_id: int
    payment_id: str
    trading_id: str
    payment_type: str
    payment_status: str
    payment_amount: int
    change_date: datetime  # aware, Japan time
    fields: Mapping[str, str] = field(repr=False)
    payment_seq: int | None = None  # per-payment order (Kessai-Payment-Seq), to drop stale ones


def notice_hash(fields: Mapping[str, str], hash_key: str) -> str:
    """``hc``: hex sha256 of payment_notice_id, payment_id, trading_id, payment_type,
    payment_amount and the key, concatenated."""
    text = "".join(fields.get(name, "") for name in _SIGNED) + hash_key
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_notice(
    body: bytes,
    *,
    hash_key: str,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    max_age: timedelta | None = None,
    now: datetime | None = None,
) -> Notice:
    """The notice in a notification's form `body`, after checking ``hc`` in constant time.

    The body is read as Windows-31J unless the Content-Type (argument, or in `headers`) says
    UTF-8. With `max_age`, a notice whose ``change_date`` is older than that (from `now`, default
    the current time) is refused. Raises NoticeVerificationError.
    """
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    fields = _form_fields(body, content_type or lowered.get("content-type"))
    missing = [name for name in _REQUIRED if name not in fields]
    if missing:
        raise NoticeVerificationError(f"notification lacks {', '.join(missing)}")
    if not hmac.compare_digest(notice_hash(fields, hash_key), fields["hc"].strip().lower()):
        raise NoticeVerificationError("hc does not match: wrong hash key or altered notification")
    notice = _notice(fields, lowered.get(SEQ_HEADER))
    _check_age(notice.change_date, max_age, now)
    return notice


def _form_fields(body: bytes, content_type: str | None) -> dict[str, str]:
    charset = "utf-8" if content_type and "charset=utf-8" in content_type.lower() else "cp932"
    try:
        pairs = parse_qsl(
            body.decode(charset), keep_blank_values=True, encoding=charset, errors="strict"
        )
    except (UnicodeDecodeError, ValueError) as error:
        raise NoticeVerificationError(f"notification body is not a {charset} form") from error
    return dict(pairs)


def _notice(fields: Mapping[str, str], seq: str | None) -> Notice:
    try:
        return Notice(
            payment_notice_id=int(fields["payment_notice_id"]),
            payment_id=fields["payment_id"],
            trading_id=fields["trading_id"],
            payment_type=fields["payment_type"],
            payment_status=fields["payment_status"],
            payment_amount=int(fields["payment_amount"]),
            change_date=datetime.strptime(fields["change_date"], "%Y%m%d%H%M%S").replace(
                tzinfo=JST
            ),
            fields=MappingProxyType(dict(fields)),
            payment_seq=int(seq) if seq else None,
        )
    except ValueError as error:
        raise NoticeVerificationError(f"notification has a malformed value: {error}") from error


def _check_age(change_date: datetime, max_age: timedelta | None, now: datetime | None) -> None:
    if max_age is None:
        return
    age = (now or datetime.now(UTC)) - change_date
    if age > max_age:
        raise NoticeVerificationError(
            f"notification is stale: change_date {change_date.isoformat()} is older than {max_age}"
        )


# The file payment notice (ファイル決済通知, paygent-protocol.md §1.5 200/201): a file is done.
_FILE_SIGNED = ("file_receipt_id", "event_id", "receipt_date", "occur_date")


@dataclass(frozen=True, slots=True)
class FileNotice:
    """A verified file payment notice: the file `file_receipt_id` has finished (fetch its result
    with `KessaiClient.file_result`)."""

    file_receipt_id: str
    event_id: str  # "file.process.done"
    receipt_date: str  # YYYYMMDDhhmmss, Japan time
    occur_date: str


def file_notice_hash(fields: Mapping[str, str], hash_key: str) -> str:
    """``hc`` of a file notice: hex sha256 of file_receipt_id, event_id, receipt_date, occur_date
    and the key, concatenated."""
    text = "".join(fields.get(name, "") for name in _FILE_SIGNED) + hash_key
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_file_notice(body: bytes) -> bool:
    """Whether a notification's form is a file payment notice rather than a payment's."""
    return b"file_receipt_id=" in body


def verify_file_notice(
    body: bytes, *, hash_key: str, content_type: str | None = None
) -> FileNotice:
    """The file notice in `body`, after checking ``hc`` in constant time; answer `NOTICE_ACK`.
    Raises NoticeVerificationError."""
    fields = _form_fields(body, content_type)
    missing = [name for name in (*_FILE_SIGNED, "hc") if name not in fields]
    if missing:
        raise NoticeVerificationError(f"file notice lacks {', '.join(missing)}")
    if not hmac.compare_digest(file_notice_hash(fields, hash_key), fields["hc"].strip().lower()):
        raise NoticeVerificationError("hc does not match: wrong hash key or altered notification")
    return FileNotice(*(fields[name] for name in _FILE_SIGNED))
