"""Link requests: one per merchant and trading_id, holding the first request's content (§2.1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID


class LinkRequest(Base):
    """A hosted payment page. The same trading_id always gives the same page (and `token`). Whether
    it is paid is read from the payments under its trading_id (core.link.requests), never kept here."""

    __tablename__ = "link_requests"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    trading_id: Mapped[str] = mapped_column(String(25))
    # The page's unguessable URL part (hv): 32 url-safe characters from 24 random bytes.
    token: Mapped[str] = mapped_column(String(43), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    payment_types: Mapped[str] = mapped_column(String(32))  # the methods the page offers
    # The first request's fields as decoded (§2.2 names); later requests keep these.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    charset: Mapped[str] = mapped_column(String(12))  # cp932 | utf-8 | euc-jp
    limit_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the page's validity (limit_date)
    # open, or busy while one submission on the page runs (a lease: see core.link.pay)
    status: Mapped[str] = mapped_column(String(16))
    # Declined card entries on this page (brute-force protection, [LINK] 付録B).
    card_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("merchant_id", "trading_id"),)


class MerchantLogo(Base):
    """The merchant's logo on the hosted page, uploaded by the operator or the merchant's staff.
    Raster images only (PNG, JPEG, GIF, WebP): an SVG could carry script."""

    __tablename__ = "merchant_logos"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
