"""Real servers for tests: an ASGI app under uvicorn on 127.0.0.1, in a background thread.

`serve_app(app)` serves plain HTTP; `serve_config(config)` serves any `uvicorn.Config` (TLS, client
certificates, a chosen HTTP implementation). Both yield the base URL and stop the server on exit. The
listening socket is bound before the server starts, so the port is free and known without a race.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 10.0


@contextmanager
def serve_app(app: Any, *, http: str = "auto") -> Iterator[str]:
    """Serve `app` over plain HTTP; yield ``http://127.0.0.1:<port>``."""
    config = uvicorn.Config(app, host=HOST, port=0, http=http, log_level="warning")
    with serve_config(config) as base_url:
        yield base_url


@contextmanager
def serve_config(config: uvicorn.Config) -> Iterator[str]:
    """Serve `config` on a free port of 127.0.0.1; yield ``http(s)://127.0.0.1:<port>``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_started(server, thread)
        yield f"{'https' if config.is_ssl else 'http'}://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
