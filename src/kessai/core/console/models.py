"""Console users (per merchant), their client certificates, login sessions, the audit log, and bulk
submissions with a result per payment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID


class ConsoleUser(Base):
    """A member of a merchant's staff who signs in to the console. Logins are unique across
    merchants, so a certificate or a login names one user without a merchant ID beside it."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | general
    permissions: Mapped[str] = mapped_column(String(128), default="")  # comma list (general)
    password_hash: Mapped[str] = mapped_column(String(256))  # argon2id, encoded with its parameters
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ConsoleCertificate(Base):
    """A client certificate issued to one user by the console CA. At most one is live per user:
    issuing a new one revokes the old. The console matches the presented certificate by its
    SHA-256 fingerprint, so a certificate only ever opens its own user's account."""

    __tablename__ = "console_certificates"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    serial: Mapped[str] = mapped_column(String(40))  # hex
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the DER, hex
    not_valid_after: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str] = mapped_column(String(64), default="")


class CertificateDownload(Base):
    """A freshly issued PKCS#12 waiting for its one download (the bundle is encrypted with a
    one-time password that was shown once and is not stored)."""

    __tablename__ = "console_cert_downloads"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    issued_by_user_id: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(96))
    p12: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    # The certificate the session was opened with ("" when certificates are off): every request
    # must come with the same one.
    cert_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One line of the audit log: who did what, when, from where, and with what result."""

    __tablename__ = "console_audit"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    login: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(48))
    target: Mapped[str] = mapped_column(String(128), default="")
    result: Mapped[str] = mapped_column(String(16))  # ok | denied | failed | error
    detail: Mapped[str] = mapped_column(String(512), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_console_audit_merchant_at", "merchant_id", "at"),)


class BulkAction(Base):
    """One submission of an action on many payments. `key` comes from the form: submitting the
    same form again finds this row and shows its results instead of acting twice."""

    __tablename__ = "console_bulk_actions"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    merchant_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(24))
    amount: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BulkRow(Base):
    """The result of a bulk action on one payment; written (ok NULL) before the payment is acted
    on, so a second submission never acts on it again."""

    __tablename__ = "console_bulk_rows"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    bulk_id: Mapped[int] = mapped_column(ForeignKey("console_bulk_actions.id"), index=True)
    payment_id: Mapped[int] = mapped_column(BigInteger)
    trading_id: Mapped[str] = mapped_column(String(25), default="")
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    code: Mapped[str] = mapped_column(String(16), default="")
    message: Mapped[str] = mapped_column(String(256), default="")
    status_after: Mapped[str] = mapped_column(String(2), default="")
    new_payment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (UniqueConstraint("bulk_id", "payment_id", name="uq_console_bulk_rows_once"),)
