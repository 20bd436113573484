"""The link request endpoints /v/request (Windows-31J), /v/u/request (UTF-8), /v/e/request (EUC-JP).

GET or POST. Form mode (`isbtob` absent or 0) sends the buyer's browser on to the page (303); URL
mode (`isbtob=1`) answers the merchant's server with key=value lines (CRLF) in the request's
charset, `url` being the page's address under the public base URL. A refused request gets an error
page, or `result=1` with the code, and nothing is created.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kessai.core.context import Core
from kessai.core.link import requests
from kessai.core.link.requests import LinkPage
from kessai.kit.clock import jst_stamp
from kessai.kit.errors import KessaiError
from kessai.web.link import pages
from kessai.web.module.codec import (
    MAX_REQUEST_BYTES,
    decode_request,
    parse_pairs,
    request_charset,
)

log = logging.getLogger("kessai.link")

REQUEST_PATHS = ("/v/request", "/v/u/request", "/v/e/request")
PAGE_PATH = "/link"


def page_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{PAGE_PATH}/{token}"


@dataclass(frozen=True)
class LinkRequestFace:
    core: Core
    public_url: str | None = None

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        query = request.scope.get("query_string", b"")
        path = request.url.path
        charset = request_charset(content_type=None, path=path, telegram_kind="")
        url_mode = _url_mode(body, query)
        try:
            fields = _decode(body, query, path)
            link = await run_in_threadpool(requests.open_link, self.core, fields, charset=charset)
        except KessaiError as error:
            log.info("link request refused: %s (%s)", error.code, error.field or "-")
            accept = request.headers.get("accept-language", "")
            return _error(error, url_mode=url_mode, charset=charset, accept_language=accept)
        url = page_url(self.public_url or str(request.base_url), link.token)
        log.info("link request for merchant %s trading_id %s", link.merchant_id, link.trading_id)
        if url_mode:
            return _key_values(_url_mode_fields(link, url), charset)
        return RedirectResponse(url, status_code=303)


def _url_mode(body: bytes, query: bytes) -> bool:
    """`isbtob=1` (read before decoding, so that a request refused for its charset is still
    answered in the mode it asked for)."""
    for name, value in parse_pairs(body.rstrip(b"\r\n")) + parse_pairs(query):
        if name == b"isbtob":
            return value == b"1"
    return False


def _decode(body: bytes, query: bytes, path: str) -> dict[str, str]:
    if len(body) + len(query) > MAX_REQUEST_BYTES:
        raise requests.LinkError("P009", field="request")
    try:
        return decode_request(body=body, query=query, content_type=None, path=path)
    except KessaiError as error:
        if error.code == "P010":  # bytes that are not the path's charset
            raise requests.LinkError("6004", field=error.field) from None
        raise


def _url_mode_fields(link: LinkPage, url: str) -> list[tuple[str, str]]:
    return [
        ("result", "0"),
        ("response_code", ""),
        ("response_detail", ""),
        ("url", url),
        ("trading_id", link.trading_id),
        ("payment_type", ",".join(link.payment_types)),
        ("limit_date", jst_stamp(link.limit_at)),
        ("trade_generation_date", jst_stamp(link.created_at)),
    ]


def _key_values(pairs: list[tuple[str, str]], charset: str) -> Response:
    text = "".join(f"{name}={value}\r\n" for name, value in pairs)
    return Response(
        text.encode(charset, errors="replace"),
        media_type=None,
        headers={"content-type": f"text/plain; charset={_charset_label(charset)}"},
    )


def _charset_label(charset: str) -> str:
    return {"cp932": "Windows-31J", "utf-8": "UTF-8", "euc_jp": "EUC-JP"}[charset]


def _error(error: KessaiError, *, url_mode: bool, charset: str, accept_language: str) -> Response:
    if url_mode:
        return _key_values(
            [("result", "1"), ("response_code", error.code), ("response_detail", error.message)],
            charset,
        )
    # The buyer's error page in the hosted page's layout (language from the browser).
    return pages.request_error(error.code, error.message, accept_language=accept_language)
