"""The ASGI layer every request passes: it gives the request an id (the caller's `X-Request-Id` when
it is a plain token, else a new one), sends it back in the answer's headers, puts it on every log
record of the request, and counts and times the request by face and telegram kind."""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kessai.observability.logs import REQUEST_ID
from kessai.observability.metrics import Metrics

HEADER = "x-request-id"
_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,64}")

# The faces by path prefix, first match wins.
FACES = (
    ("/n/", "module"),
    ("/s/", "module"),  # the same telegrams, signed with the telegram hash
    ("/v/", "link"),
    ("/console", "console"),
    ("/sandbox", "sandbox"),
    ("/sim/", "simulator"),
    ("/metrics", "operations"),
    ("/health", "operations"),
    ("/ready", "operations"),
)


def face_of(path: str) -> str:
    return next((face for prefix, face in FACES if path.startswith(prefix)), "buyer")


class ObservedApp:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        scope.setdefault("state", {})

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._observe(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        face = face_of(scope.get("path", ""))
        telegram = scope["state"].get("telegram") or {}
        kind = telegram.get("kind", "") if face == "module" else ""
        kind = kind if re.fullmatch(r"\d{3}", kind) or not kind else "?"  # bounded labels
        self.metrics.requests.labels(face, kind, str(status)).inc()
        self.metrics.latency.labels(face, kind).observe(seconds)
        if face == "module":
            self.metrics.results.labels(kind, telegram.get("code", "")).inc()


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == HEADER.encode():
            given: str = value.decode("latin-1")
            if _TOKEN.fullmatch(given):
                return given
    return uuid.uuid4().hex
