"""Speaking the link type in tests as merchants' order pages do: signed requests in the path's charset."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from sqlalchemy import func, select

from kessai.app import Runtime
from kessai.client import link_hash, link_hmac
from kessai.core.link.models import LinkRequest
from kessai.core.merchants.commands import NewMerchant
from tests.support.telegrams import form_body

PATHS = {"cp932": "/v/request", "utf-8": "/v/u/request", "euc_jp": "/v/e/request"}


def link_fields(
    merchant: NewMerchant, trading_id: str = "L1", amount: int = 1500, **extra: str
) -> dict[str, str]:
    """A request signed in the merchant's scheme (paygent: hc with a random suffix, as PAYGENT's
    samples send it)."""
    fields = {
        "trading_id": trading_id,
        "id": str(amount),
        "seq_merchant_id": str(merchant.merchant_id),
        "merchant_name": "テスト商店",
        "return_url": "https://shop.example/thanks",
        **extra,
    }
    if merchant.link_signature == "hmac":
        fields["hc"] = link_hmac(fields, merchant.hash_key)
    else:
        fields["hc"] = link_hash(fields, merchant.hash_key)
    return fields


def post_link(
    server: str, fields: Mapping[str, str], *, charset: str = "cp932", url_mode: bool = False
) -> httpx.Response:
    body = {**fields, **({"isbtob": "1"} if url_mode else {})}
    return httpx.post(
        server + PATHS[charset],
        content=form_body(body, charset),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )


def url_mode_answer(response: httpx.Response, charset: str = "cp932") -> dict[str, str]:
    assert response.status_code == 200, response.status_code
    text = response.content.decode(charset)
    assert text.endswith("\r\n")
    return dict(line.partition("=")[::2] for line in text.split("\r\n") if line)


def open_page_url(server: str, merchant: NewMerchant, **extra: str) -> str:
    """The page URL of a fresh link request (URL mode), for page tests: without 3-D Secure
    unless the test asks for it (`threedsecure_ryaku="0"`)."""
    extra.setdefault("threedsecure_ryaku", "1")
    answer = url_mode_answer(post_link(server, link_fields(merchant, **extra), url_mode=True))
    assert answer["result"] == "0", answer
    return answer["url"]


def link_rows(runtime: Runtime, merchant: NewMerchant) -> int:
    with runtime.core.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(LinkRequest)
                .where(LinkRequest.merchant_id == merchant.merchant_id)
            )
            or 0
        )
