"""Carrier user authentications (ユーザ認証, telegram 104): a buyer's carrier login, kept as an OpenID
for the merchant's later payments until the merchant releases it (105)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID


class CarrierOpenId(Base):
    """One 104: `pending` until the buyer logs in on the carrier's page, then `active` with the
    carrier's OpenID (or `cancelled` if the buyer went back); `released` after 105."""

    __tablename__ = "carrier_open_ids"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    site_id: Mapped[str] = mapped_column(String(4), default="")
    career_type: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))  # pending, active, cancelled, released
    open_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    login_id: Mapped[str] = mapped_column(String(64), default="")
    redirect_url: Mapped[str] = mapped_column(String(512))  # back to the merchant with open_id
    cancel_url: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
