"""The module-type face: `POST /n/<method>/request` telegrams (paygent-protocol.md §1, §6), and
the same under `/s/…`, where a telegram hash (`hashcheck.py`) stands in for the client certificate.

Always HTTP 200; errors are `result=1` with the protocol code. Checks run in PAYGENT's order:
client certificate (P016, `/n/` only), credentials (P001/P002), the merchant's path modes and IP
allow-list (P004/P015, `access.py`), version (P003), kind and path (P004/P007), fields (P005–P010),
on `/s/` the signature (request_date, hc, replay: P010), then the handler. Nothing is stored before
every check has passed; the last check on `/s/` records the signature as used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from kessai.core.context import Core, MerchantRef
from kessai.core.merchants.access import HASH_PATH, Network
from kessai.core.merchants.auth import Authenticator, MerchantIdentity
from kessai.db import loop
from kessai.kit.errors import AuthError, InvalidRequest, KessaiError
from kessai.tls.server import peer_merchant_id
from kessai.web.module import hashcheck
from kessai.web.module.access import check_access, client_address, path_mode
from kessai.web.module.codec import charset_for_kind, decode_request, max_request_bytes
from kessai.web.module.encode import content_type, encode_response, error_fields
from kessai.web.module.fields import validate
from kessai.web.module.files import file_error, file_result, request_file
from kessai.web.module.handlers import HANDLERS as KIND_HANDLERS
from kessai.web.module.handlers import PINNED_KINDS, csv_error
from kessai.web.module.specs import (
    AUTH_FIELDS,
    REQUEST_SPECS,
    RESPONSE_FIELDS,
    path_for_kind,
    path_matches_kind,
)
from kessai.web.module.telegram import Handler, Reply, Telegram

log = logging.getLogger("kessai.telegram")

# The payment method a kind needs (P007 without it); None: every merchant may send it (091).
# The method a telegram kind belongs to (P007 unless the merchant has it); 091 serves every method.
_NON_CARD_KINDS: dict[str, str | None] = {
    "091": None,
    "010": "01",
    "030": "03",
    "040": "04",
    "050": "05",
    "060": "05",
    "070": "07",
}
_NON_CARD_KINDS |= dict.fromkeys(("100", "101", "102", "103", "104", "105"), "06")  # carrier
HANDLERS: dict[str, Handler] = {**KIND_HANDLERS, "200": request_file, "201": file_result}
PAYMENT_TYPE_OF_KIND: dict[str, str | None] = {
    kind: _NON_CARD_KINDS.get(kind, "02") for kind in HANDLERS
}
# Where telegrams are posted: `/n/…`, and `/s/…` signed with the telegram hash (hashcheck.py).
TELEGRAM_PREFIXES = ("/n/", "/s/")
# Kinds whose refusals are written in their own framing, not name=value (§1.3).
ERROR_ENCODERS: dict[str, Callable[[KessaiError], bytes]] = {"027": csv_error, "201": file_error}


@dataclass
class LoopCore:
    """The core whose sessions suspend on the event loop (`kessai.db.loop`), set by the app's
    lifespan on PostgreSQL; the card operations' telegrams then run on the loop, not in threads,
    at most `slots` at once (as many as the request threads): each holds a pooled connection,
    and more at once only lengthen each transaction and grow the pool past its size, where every
    surplus connection is closed at check-in and opened again at the next checkout."""

    core: Core | None = None
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))


@dataclass(frozen=True)
class TelegramFace:
    core: Core
    authenticator: Authenticator
    require_client_cert: bool
    public_url: str | None = None
    # Whose X-Real-IP / X-Forwarded-For is believed for P015 (the console's trusted proxies).
    trusted_proxies: tuple[Network, ...] = ()
    on_loop: LoopCore = field(default_factory=LoopCore)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The face as a bare ASGI app (`kessai.app` routes `/n/` and `/s/` here ahead of the
        router): a telegram is a small form and a small answer, and Starlette's layers were a
        measurable share of its cost (bench/README.md)."""
        if scope["method"] not in ("POST", "GET", "HEAD"):
            await _send(
                send,
                405,
                b"Method Not Allowed",
                b"text/plain; charset=utf-8",
                [(b"allow", b"GET, HEAD, POST")],
            )
            return
        started = time.perf_counter()
        path = scope["path"]
        body, too_large = await _read_capped(receive, max_request_bytes(path))
        request = Request(scope)  # headers and base_url, parsed when asked for
        public_url = self.public_url
        charset = "cp932"
        try:
            if too_large:
                raise InvalidRequest("P009", field="request")
            raw = decode_request(
                body=body,
                query=scope.get("query_string", b""),
                content_type=request.headers.get("content-type"),
                path=path,
                max_bytes=max_request_bytes(path),
            )
            charset = charset_for_kind(raw.get("telegram_kind", ""))

            def origin() -> str:
                return (public_url or str(request.base_url)).rstrip("/")

            address = client_address(scope, request.headers, self.trusted_proxies)
            args = (raw, path, peer_merchant_id(scope), origin, address)
            loop_core = self.on_loop.core
            if loop_core is not None and raw.get("telegram_kind") in PINNED_KINDS:
                async with self.on_loop.slots:
                    reply, meta = await loop.run(self.process, *args, loop_core)
            else:
                reply, meta = await run_in_threadpool(self.process, *args)
        except KessaiError as error:
            reply, meta = error_fields(error.code, error.detail), {"code": error.code}
        payload = reply if isinstance(reply, bytes) else encode_response(reply, charset=charset)
        _log(meta, started)
        scope.setdefault("state", {})["telegram"] = meta  # kind and code, for the metrics
        # Close after answering: PAYGENT's modules expect it, and HTTP/1.0 clients need it.
        await _send(
            send, 200, payload, content_type(charset).encode("latin-1"), [(b"connection", b"close")]
        )

    def process(
        self,
        raw: Mapping[str, str],
        path: str,
        peer: int | None,
        origin: Callable[[], str] = str,
        address: str = "",
        loop_core: Core | None = None,
    ) -> tuple[Reply, dict[str, str]]:
        """The telegram's answer and its log fields; on `loop_core` when run on the event loop."""
        kind = raw.get("telegram_kind", "")
        # Only checked values reach the log: any field of a bad request may hold a card number.
        meta = {"kind": kind if kind.isalnum() and len(kind) <= 3 else "?", "merchant": ""}
        try:
            with self._core_for(kind, loop_core or self.core) as core:
                telegram = self._admit(core, raw, path, peer, address, origin)
                meta["merchant"] = str(telegram.merchant.id)
                reply = HANDLERS[kind](core, telegram)
        except KessaiError as error:
            meta["code"] = error.code
            if kind in ERROR_ENCODERS:
                return ERROR_ENCODERS[kind](error), meta
            return error_fields(error.code, error.detail, RESPONSE_FIELDS.get(kind, ())), meta
        except Exception:
            log.exception("telegram %s for merchant %s failed", kind, meta["merchant"])
            meta["code"] = "E001"
            return error_fields("E001", KessaiError("E001").detail), meta
        meta["code"] = _reply_code(reply)
        return reply, meta

    @staticmethod
    def _core_for(kind: str, core: Core) -> AbstractContextManager[Core]:
        """The card operations' telegrams run on one pooled connection, credential check included
        (one checkout instead of one per transaction); the other kinds use the pool as they like."""
        return core.pinned() if kind in PINNED_KINDS else nullcontext(core)

    def _admit(
        self,
        core: Core,
        raw: Mapping[str, str],
        path: str,
        peer: int | None,
        address: str,
        origin: Callable[[], str],
    ) -> Telegram:
        mode = path_mode(path)
        certified = self.require_client_cert and mode != HASH_PATH
        if certified and peer is None:
            raise AuthError("P016")
        for name in AUTH_FIELDS:
            if not raw.get(name):
                raise AuthError("P001")
        identity = self._authenticate(core, raw)
        if certified and peer != identity.id:
            raise AuthError("P016")  # another merchant's certificate
        check_access(identity, mode, address)
        if raw.get("telegram_version") != "1.0":
            raise InvalidRequest("P003")
        kind = raw.get("telegram_kind", "")
        _check_kind_and_path(kind, path)
        fields = validate(raw, REQUEST_SPECS[kind])
        if mode == HASH_PATH:
            self._check_signature(core, identity, hashcheck.signature(kind, raw, fields), raw)
        merchant = MerchantRef.of(identity)
        return Telegram(kind=kind, merchant=merchant, fields=fields, raw=raw, origin=origin)

    def _check_signature(
        self,
        core: Core,
        identity: MerchantIdentity,
        signed: hashcheck.Signature,
        raw: Mapping[str, str],
    ) -> None:
        """As with the password: a hash that does not match re-reads the merchant once, so a
        telegram hash key rotated a moment ago works at once."""
        try:
            hashcheck.check_signature(core, identity, signed)
        except InvalidRequest as error:
            if error.field != "hc":
                raise
            self.authenticator.forget(identity.id)
            hashcheck.check_signature(core, self._authenticate(core, raw), signed)

    def _authenticate(self, core: Core, raw: Mapping[str, str]) -> MerchantIdentity:
        merchant = self.authenticator.authenticate(
            raw["merchant_id"], raw["connect_id"], raw["connect_password"], core.sessions
        )
        method = PAYMENT_TYPE_OF_KIND.get(raw.get("telegram_kind", ""), "02")
        if method is not None and method not in merchant.methods:
            raise InvalidRequest("P007")
        return merchant


def _check_kind_and_path(kind: str, path: str) -> None:
    expected = path_for_kind(kind)
    if kind not in HANDLERS:
        # A kind PAYGENT knows but Kessai does not offer yet is "not contracted".
        raise InvalidRequest("P007" if expected else "P010", field="telegram_kind")
    if not path_matches_kind(path, kind):  # `/s/…` is its `/n/…` twin
        raise InvalidRequest("P004")


async def _read_capped(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body, reading no more than `limit` (a 1 MB telegram is refused, not buffered).
    ClientDisconnect when the client goes before the whole body has arrived."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit + 4:  # + trailing CRLFs some clients add
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


async def _send(
    send: Send, status: int, body: bytes, media: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", media), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _reply_code(reply: Reply) -> str:
    if isinstance(reply, bytes):
        return ""
    values = dict(reply)
    return values.get("response_code", "") if values.get("result") == "1" else ""


def _log(meta: Mapping[str, str], started: float) -> None:
    # Kind, merchant and outcome only: a telegram's fields may hold a card number.
    log.info(
        "telegram kind=%s merchant=%s code=%s ms=%.1f",
        meta.get("kind", ""),
        meta.get("merchant", ""),
        meta.get("code", ""),
        (time.perf_counter() - started) * 1000,
    )
