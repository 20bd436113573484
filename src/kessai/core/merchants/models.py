"""Merchants (加盟店): credentials, hash keys, enabled methods, mode; the `/s/` replay store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID


class Merchant(Base):
    __tablename__ = "merchants"

    # PAYGENT's merchant_id: digits, at most 9.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(128))
    connect_id: Mapped[str] = mapped_column(String(32), unique=True)
    # HMAC-SHA-256 of the connect password under the server secret (hex). Fast on purpose: every
    # telegram carries the password; the password itself has >= 128 bits of entropy.
    connect_password_hash: Mapped[str] = mapped_column(String(64))
    link_hash_key: Mapped[str] = mapped_column(String(64))
    # How link requests are signed with link_hash_key (core.link.hashing): "hmac" (name=value lines,
    # HMAC-SHA256) or "paygent" (PAYGENT's §2.3 hash over concatenated values, for PAYGENT shops).
    link_signature: Mapped[str] = mapped_column(String(16))
    notification_hash_key: Mapped[str] = mapped_column(String(64))
    # 3Dセキュア結果受付ハッシュ鍵: signs the 3-D Secure result sent to term_url (§1.5 450).
    threeds_hash_key: Mapped[str] = mapped_column(String(64))
    # 電文ハッシュ鍵: signs module telegrams sent to `/s/…` without a client certificate. The
    # previous key keeps working until `…_previous_until` after a rotation (see `hashcheck.py`).
    telegram_hash_key: Mapped[str] = mapped_column(String(64))
    telegram_hash_key_previous: Mapped[str | None] = mapped_column(String(64), nullable=True)
    telegram_hash_key_previous_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True
    )
    # Which module paths the merchant may use: "n" (client certificate), "s" (telegram hash), or
    # "n,s". Existing merchants keep "n": the hash mode is opted into.
    module_paths: Mapped[str] = mapped_column(String(8), default="n", server_default="n")
    # P015: the networks module telegrams may come from, space-separated CIDR ("" = any address,
    # except that a production merchant's `/s/` telegrams need a list).
    ip_allow_list: Mapped[str] = mapped_column(String(2048), default="", server_default="")
    notification_url: Mapped[str | None] = mapped_column(String(512), nullable=True)
    # Where the notices of a payment made on a link page with a signed `inform_url` go
    # (core.notifications.outbox): "replace" (there, instead of notification_url) or "ignore".
    inform_url_mode: Mapped[str] = mapped_column(String(16))
    enabled_methods: Mapped[str] = mapped_column(String(128))  # comma list of payment_type codes
    mode: Mapped[str] = mapped_column(String(16))  # "sandbox" | "production"
    # Sandbox test clock: how far the merchant's time runs ahead of real time (0 in production).
    clock_offset_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def methods(self) -> list[str]:
        return [m for m in self.enabled_methods.split(",") if m]

    def paths(self) -> list[str]:
        return [p for p in self.module_paths.split(",") if p]

    def allowed_networks(self) -> list[str]:
        return self.ip_allow_list.split()


class TelegramReplay(Base):
    """One `/s/` telegram accepted: its (merchant, request_date, hc), kept while a telegram with
    that request_date could still be inside the window, so the same signature is accepted once."""

    __tablename__ = "telegram_replays"
    __table_args__ = (UniqueConstraint("merchant_id", "request_date", "hc"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    request_date: Mapped[str] = mapped_column(String(14))  # as sent: YYYYMMDDhhmmss, Japan time
    hc: Mapped[str] = mapped_column(String(64))
    # request_date as an instant; rows older than the window are pruned by it.
    request_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
