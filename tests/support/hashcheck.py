"""Signing telegrams for `/s/…` the way the WooCommerce plugin does (paygent-protocol.md §1.1):
written from the protocol notes, not from the gateway's code, so the two check each other."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from kessai.core.merchants.commands import NewMerchant
from tests.support.telegrams import Reply, form_body, header, parse_reply, path_for

JST = ZoneInfo("Asia/Tokyo")
UTF8_KINDS = frozenset({"450"})


def request_date(moment: datetime | None = None, *, shift: timedelta = timedelta(0)) -> str:
    """`YYYYMMDDhhmmss` in Japan time, of now (plus `shift`) unless told otherwise."""
    return ((moment or datetime.now(UTC)) + shift).astimezone(JST).strftime("%Y%m%d%H%M%S")


def plugin_hash(fields: Mapping[str, str | int], key: str) -> str:
    """`make_hash_data` of the plugin: optional parts when set, payment_amount before amount."""
    parts = [
        str(fields[name])
        for name in ("merchant_id", "connect_id", "connect_password", "telegram_kind")
    ]
    parts += [str(fields["telegram_version"]), str(fields.get("trading_id", ""))]
    if "payment_id" in fields:
        parts.append(str(fields["payment_id"]))
    if "payment_amount" in fields:
        parts.append(str(fields["payment_amount"]))
    elif "amount" in fields:
        parts.append(str(fields["amount"]))
    parts += [str(fields["request_date"]), key]
    return hashlib.sha256("".join(parts).encode("ascii")).hexdigest()


def signed(
    fields: Mapping[str, str | int], key: str, date: str | None = None
) -> dict[str, str | int]:
    with_date = {**fields, "request_date": date or request_date()}
    return {**with_date, "hc": plugin_hash(with_date, key)}


def s_path(kind: str) -> str:
    return "/s/" + path_for(kind).removeprefix("/n/")


def post_raw(base_url: str, fields: Mapping[str, str | int], path: str, kind: str) -> bytes:
    encoding = "utf-8" if kind in UTF8_KINDS else "cp932"
    content_type = "application/x-www-form-urlencoded" + (
        "; charset=utf-8" if kind in UTF8_KINDS else ""
    )
    response = httpx.post(
        base_url + path,
        content=form_body(fields, encoding),
        headers={"Content-Type": content_type},
        timeout=30,
    )
    assert response.status_code == 200, response.status_code
    return response.content


def parse(body: bytes, kind: str) -> Reply:
    """The reply as fields; 027's CSV as the fields of its "1" record (result, code, detail)."""
    if kind == "027":
        head = next(csv.reader(io.StringIO(body.decode("cp932"))))
        return Reply(
            body, dict(zip(("result", "response_code", "response_detail"), head[1:], strict=False))
        )
    if kind in UTF8_KINDS:
        return parse_reply(body.decode("utf-8").encode("cp932", errors="replace"))
    return parse_reply(body)


def send_signed(
    base_url: str,
    merchant: NewMerchant,
    kind: str,
    *,
    key: str | None = None,
    date: str | None = None,
    path: str | None = None,
    **fields: str | int,
) -> Reply:
    """A telegram to `/s/…`, signed with the merchant's telegram hash key (or `key`)."""
    body = signed(header(merchant, kind, **fields), key or merchant.telegram_hash_key, date)
    return parse(post_raw(base_url, body, path or s_path(kind), kind), kind)


def send_plain(base_url: str, merchant: NewMerchant, kind: str, **fields: str | int) -> Reply:
    """The same telegram to `/n/…` (the test server asks for no certificate)."""
    return parse(post_raw(base_url, header(merchant, kind, **fields), path_for(kind), kind), kind)
