"""A merchant's notification receiver (差分通知先URL) for tests: a small Starlette app that records
every push and can be told to misbehave (fail the first N, hang, answer garbage or huge bodies).
It also takes GETs on `/term`, as a 3-D Secure term_url does (the 450 timeout notice): their query
is recorded in UTF-8, and `fail_first` / `mode="error500"` make them answer HTTP 500.

Serve it with `tests.support.servers.serve_app(receiver.app)`; the recorded requests are decoded
as a PAYGENT merchant would: Windows-31J form fields.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

HUGE_BYTES = 1024 * 1024


@dataclass
class Received:
    headers: dict[str, str]
    raw: bytes
    fields: dict[str, str]

    @property
    def notice_id(self) -> int:
        return int(self.fields["payment_notice_id"])


@dataclass
class Receiver:
    """Behaviour knobs, read at each request. `mode`: ok | refuse | hang | garbage | huge | error500."""

    fail_first: int = 0
    mode: str = "ok"
    delay: float = 0.0  # seconds before answering (a slow merchant)
    hang_seconds: float = 30.0
    received: list[Received] = field(default_factory=list)
    answered_ok: list[int] = field(default_factory=list)  # notice ids answered result=0
    max_in_flight: int = 0  # the most pushes that were being answered at once
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/notify", self._handle, methods=["POST"]),
                Route("/term", self._term, methods=["GET"]),
            ]
        )

    async def _term(self, request: Request) -> Response:
        raw = request.scope.get("query_string", b"")
        fields = dict(parse_qsl(raw.decode("ascii"), keep_blank_values=True, encoding="utf-8"))
        with self._lock:
            self.received.append(Received(dict(request.headers), raw, fields))
            failing = len(self.received) <= self.fail_first or self.mode == "error500"
        if failing:
            return Response("busy", status_code=500)
        page = '<html><head><link rel="icon" href="data:,"></head><body>thanks</body></html>'
        return Response(page, media_type="text/html")

    async def _handle(self, request: Request) -> Response:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return await self._answer(request)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        raw = await request.body()
        fields = dict(parse_qsl(raw.decode("ascii"), keep_blank_values=True, encoding="cp932"))
        with self._lock:
            self.received.append(Received(dict(request.headers), raw, fields))
            failing = len(self.received) <= self.fail_first
        if self.delay:
            await anyio.sleep(self.delay)
        if failing:
            return Response("result=1", media_type="text/plain")
        answer = await self._misbehave()
        if answer is not None:
            return answer
        with self._lock:
            self.answered_ok.append(int(fields.get("payment_notice_id", "0")))
        return Response("result=0\r\n", media_type="text/plain")

    async def _misbehave(self) -> Response | None:
        match self.mode:
            case "hang":
                await anyio.sleep(self.hang_seconds)
                return Response("result=0")
            case "garbage":
                return Response(b"\x00\xff\xfe\x81result=0\x00 \x8f\xa0", media_type="text/html")
            case "huge":
                return StreamingResponse(_huge(), media_type="text/plain")
            case "error500":
                return Response("result=0", status_code=500)
            case "refuse":
                return Response("result=1")
        return None


async def _huge() -> AsyncIterator[bytes]:
    chunk = b"result=0" + b" " * (64 * 1024 - 8)
    for _ in range(HUGE_BYTES // len(chunk)):
        yield chunk
