"""Which client certificate belongs to which console user: the only writers of
`console_certificates` and `console_cert_downloads`.

The certificate itself is made by the console CA (`kessai.tls.ca`, a face's concern); here it is
recorded by serial and SHA-256 fingerprint. One live certificate per user: recording a new one
revokes the old one, and revoking ends the user's sessions at once (they were opened with it).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from kessai.core.console.models import CertificateDownload, ConsoleCertificate, ConsoleSession
from kessai.kit.clock import as_utc
from kessai.kit.errors import NotFound

DOWNLOAD_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class CertificateView:
    serial: str
    fingerprint: str
    not_valid_after: datetime
    issued_at: datetime
    issued_by: str
    revoked_at: datetime | None
    revoked_by: str

    @classmethod
    def of(cls, row: ConsoleCertificate) -> CertificateView:
        return cls(
            serial=row.serial,
            fingerprint=row.fingerprint,
            not_valid_after=row.not_valid_after,
            issued_at=row.issued_at,
            issued_by=row.issued_by,
            revoked_at=row.revoked_at,
            revoked_by=row.revoked_by,
        )

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and as_utc(self.not_valid_after) > now


def record_issued(
    session: Session,
    user_id: int,
    *,
    serial: int,
    fingerprint: str,
    not_valid_after: datetime,
    issued_by: str,
    now: datetime,
) -> None:
    """Record a certificate just issued to `user_id`, revoking the one it replaces."""
    revoke(session, user_id, revoked_by=issued_by, now=now)
    session.add(
        ConsoleCertificate(
            user_id=user_id,
            serial=f"{serial:x}",
            fingerprint=fingerprint,
            not_valid_after=not_valid_after,
            issued_at=now,
            issued_by=issued_by,
        )
    )
    session.flush()


def revoke(session: Session, user_id: int, *, revoked_by: str, now: datetime) -> int:
    """Revoke the user's live certificate(s) and end their sessions; returns how many were live."""
    result = session.execute(
        update(ConsoleCertificate)
        .where(ConsoleCertificate.user_id == user_id, ConsoleCertificate.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=revoked_by)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.cert_fingerprint != "")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def live_fingerprint(session: Session, user_id: int, now: datetime) -> str | None:
    """The fingerprint of the user's live certificate (not revoked, not expired), or None."""
    return session.scalar(
        select(ConsoleCertificate.fingerprint).where(
            ConsoleCertificate.user_id == user_id,
            ConsoleCertificate.revoked_at.is_(None),
            ConsoleCertificate.not_valid_after > now,
        )
    )


def history(session: Session, user_id: int) -> list[CertificateView]:
    rows = session.scalars(
        select(ConsoleCertificate)
        .where(ConsoleCertificate.user_id == user_id)
        .order_by(ConsoleCertificate.id.desc())
    )
    return [CertificateView.of(row) for row in rows]


def live_by_user(session: Session, user_ids: list[int], now: datetime) -> dict[int, str]:
    """user_id → serial of the live certificate, for the users list."""
    rows = session.execute(
        select(ConsoleCertificate.user_id, ConsoleCertificate.serial).where(
            ConsoleCertificate.user_id.in_(user_ids),
            ConsoleCertificate.revoked_at.is_(None),
            ConsoleCertificate.not_valid_after > now,
        )
    )
    return {int(user_id): serial for user_id, serial in rows}


def hold_download(
    session: Session,
    *,
    user_id: int,
    issued_by_user_id: int,
    filename: str,
    p12: bytes,
    now: datetime,
) -> str:
    """Keep a PKCS#12 for one download within 10 minutes; returns the download token."""
    session.execute(delete(CertificateDownload).where(CertificateDownload.expires_at < now))
    token = secrets.token_urlsafe(24)
    session.add(
        CertificateDownload(
            token_hash=_hash(token),
            user_id=user_id,
            issued_by_user_id=issued_by_user_id,
            filename=filename,
            p12=p12,
            expires_at=now + DOWNLOAD_LIFETIME,
        )
    )
    return token


def take_download(
    session: Session, token: str, *, issued_by_user_id: int, now: datetime
) -> tuple[str, bytes]:
    """The held PKCS#12 (filename, bytes), deleted as it is handed out: a second try, another
    admin's token or a late one → NotFound."""
    row = session.get(CertificateDownload, _hash(token), with_for_update=True)
    if row is None or row.issued_by_user_id != issued_by_user_id:
        raise NotFound(message="この証明書のダウンロードは終了しているか、期限が切れています。")
    session.delete(row)
    if as_utc(row.expires_at) < now:
        raise NotFound(message="この証明書のダウンロードは終了しているか、期限が切れています。")
    return row.filename, row.p12


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
