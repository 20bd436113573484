"""EMV 3-D Secure 2 authentications: one per 450 (or hosted-page card entry), used by one 020."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID


class ThreeDSAuthentication(Base):
    """What the ACS decided about one card and amount. `auth_id` is the protocol's 3ds_auth_id."""

    __tablename__ = "threeds_authentications"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    auth_id: Mapped[str] = mapped_column(String(36), unique=True)  # UUID
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    vault_card_id: Mapped[int | None] = mapped_column(ForeignKey("vault_cards.id"), nullable=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency_code: Mapped[str] = mapped_column(String(3), default="JPY")
    cardholder_name: Mapped[str] = mapped_column(String(64), default="")
    merchant_name: Mapped[str] = mapped_column(String(64), default="")
    term_url: Mapped[str] = mapped_column(String(512))
    # waiting (ACS not reached yet) | challenge (password page shown) | done | timed_out
    status: Mapped[str] = mapped_column(String(16))
    trans_status: Mapped[str] = mapped_column(String(1), default="")  # Y A U N R C (EMV 3DS)
    result: Mapped[str] = mapped_column(String(1), default="")  # 0 ok / 1 failed, as on term_url
    attempt_kbn: Mapped[str] = mapped_column(String(1), default="")
    response_code: Mapped[str] = mapped_column(String(8), default="")
    # The 020 that used this authentication (31010 for a second use).
    payment_id: Mapped[int | None] = mapped_column(BigID, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # 30 minutes after the 450
    # The timeout notice (GET term_url, result=1, 31013): sent by the worker, retried hourly ×3.
    notice_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_threeds_authentications_status_expires", "status", "expires_at"),)
