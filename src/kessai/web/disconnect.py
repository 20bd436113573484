"""Clients that go away before their request body has arrived.

A merchant's module that times out, a buyer who closes the tab while a form is posting: the client
closes the connection after the headers and part of the body. Starlette raises `ClientDisconnect`
from whichever face was reading the body (telegram, link request, console form, buyer page, sandbox
API), and left alone it reaches the server as an "Exception in ASGI application" traceback. Nothing
went wrong on our side and there is nobody left to answer, so it is one line in the log instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("kessai.web")


class LogClientDisconnect:
    """ASGI middleware: a `ClientDisconnect` out of the app becomes one INFO line, no response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            if scope["type"] != "http":
                raise
            log.info(
                "client disconnected before its request body arrived: %s %s",
                scope.get("method", ""),
                path_for_log(scope.get("path", ""), scope.get("path_params", {})),
            )


def path_for_log(path: str, path_params: Mapping[str, Any]) -> str:
    """The path with its tokens (buyer pages' capabilities) masked: a log is not a key store."""
    for name, value in path_params.items():
        if "token" in name and value:
            path = path.replace(str(value), f"{{{name}}}")
    return path
