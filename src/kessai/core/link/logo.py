"""The merchant's logo on the hosted page: set, removed and read here, with the checks an upload
must pass (raster images only, recognised by their magic bytes, at most 256 KB).

An SVG or HTML file is refused whatever its name says: the logo is served from the gateway's own
origin, where active content would run beside the card form.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from kessai.core.context import Core
from kessai.core.link.models import MerchantLogo
from kessai.core.merchants.models import Merchant
from kessai.kit.errors import InvalidRequest, NotFound

MAX_BYTES = 256 * 1024
_WEBP_TAG = slice(8, 12)
NOT_AN_IMAGE = "ロゴはPNG・JPEG・GIF・WebPの画像にしてください（SVGは使えません）。"


@dataclass(frozen=True, slots=True)
class Logo:
    merchant_id: int
    content_type: str
    data: bytes
    sha256: str
    updated_at: datetime


def content_type_of(data: bytes) -> str:
    """The image type by magic bytes; InvalidRequest P010 (field `logo`) when not PNG/JPEG/GIF/WebP."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"RIFF") and data[_WEBP_TAG] == b"WEBP":
        return "image/webp"
    raise InvalidRequest("P010", field="logo", message=NOT_AN_IMAGE)


def set_logo(core: Core, merchant_id: int, data: bytes) -> Logo:
    """Store (or replace) a merchant's logo. P006 empty, P009 over 256 KB, P010 not a raster image."""
    if not data:
        raise InvalidRequest("P006", field="logo", message="ロゴの画像ファイルを選んでください。")
    if len(data) > MAX_BYTES:
        raise InvalidRequest("P009", field="logo", message="ロゴの画像は256KB以下にしてください。")
    content_type = content_type_of(data)
    now = core.clock.now()
    digest = hashlib.sha256(data).hexdigest()
    with core.sessions.begin() as session:
        if session.get(Merchant, merchant_id) is None:
            raise NotFound("2006", message=f"merchant {merchant_id} does not exist")
        row = session.get(MerchantLogo, merchant_id)
        if row is None:
            row = MerchantLogo(merchant_id=merchant_id)
            session.add(row)
        row.content_type, row.data, row.sha256, row.updated_at = content_type, data, digest, now
    return Logo(merchant_id, content_type, data, digest, now)


def remove_logo(core: Core, merchant_id: int) -> bool:
    """Remove a merchant's logo; False when there was none."""
    with core.sessions.begin() as session:
        row = session.get(MerchantLogo, merchant_id)
        if row is None:
            return False
        session.delete(row)
        return True


def get_logo(core: Core, merchant_id: int) -> Logo | None:
    with core.sessions() as session:
        row = session.get(MerchantLogo, merchant_id)
        if row is None:
            return None
        return Logo(row.merchant_id, row.content_type, row.data, row.sha256, row.updated_at)


def logo_version(core: Core, merchant_id: int) -> str | None:
    """A short version of the logo for its URL (changes when the logo does), None without one."""
    with core.sessions() as session:
        digest = session.scalar(
            select(MerchantLogo.sha256).where(MerchantLogo.merchant_id == merchant_id)
        )
        return None if digest is None else digest[:16]
