"""A client that goes away in the middle of its request body leaves one log line, not a traceback.

A real client over a raw socket: the request line, headers announcing a Content-Length, half the
body, then the socket is closed. Every face that reads a body is tried.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kessai.app import create_app
from tests.support.servers import serve_app

BODY = b"merchant_id=1&connect_id=x&connect_password=y&telegram_kind=094&telegram_version=1.0"

# Every route that reads a request body (the path of one of each kind of face).
BODY_READERS = {
    "telegram": "/n/card/request",
    "link_request": "/v/request",
    "console_sign_in": "/console/login",
    "console_form": "/console/payments/bulk",
    "hosted_page": "/link/no-such-token/card",
    "bank_net_buyer_page": "/banking/asp",
    "threeds_acs_page": "/3ds/acs/1/no-such-token",
    "carrier_page": "/carrier/pay/1/no-such-token",
    "sandbox_api": "/sandbox/merchants/1/clock/advance",
}


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records(server: str) -> Iterator[Records]:
    """Every record logged meanwhile: the gateway's, and uvicorn's (which does not propagate).
    (After the server is up: the database's migrations are not this test's business.)"""
    handler = Records()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def httptools_server(runtime) -> Iterator[str]:
    """The gateway under uvicorn's httptools parser, which `make run` picks when it is installed
    (the session's `server` uses h11)."""
    with serve_app(create_app(runtime), http="httptools") as base_url:
        yield base_url


def _half_a_body_then_close(server: str, path: str) -> None:
    url = urlsplit(server)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head + BODY[: len(BODY) // 2])
        time.sleep(0.2)  # the server has read the headers and is waiting for the rest


def _settled(records: Records, seconds: float = 5.0) -> list[logging.LogRecord]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any("disconnect" in r.getMessage() or r.exc_info for r in records.records):
            time.sleep(0.2)  # anything else the request would log
            break
        time.sleep(0.05)
    return list(records.records)


@pytest.mark.parametrize("parser", ["h11", "httptools"])
@pytest.mark.parametrize("face", list(BODY_READERS))
def test_a_client_gone_mid_body_leaves_one_log_line_and_no_traceback(
    request, records, log_file: Path, face, parser
):
    server = request.getfixturevalue("server" if parser == "h11" else "httptools_server")
    path = BODY_READERS[face]
    before = log_file.stat().st_size

    _half_a_body_then_close(server, path)
    logged = _settled(records)

    lines = [f"{r.name} {r.levelname} {r.getMessage()}" for r in logged]
    assert not [r for r in logged if r.exc_info], lines
    assert len(logged) == 1 and "client disconnected" in lines[0], lines
    assert f"POST {path.split('/no-such-token')[0]}" in lines[0]
    assert "no-such-token" not in lines[0]  # buyer pages' tokens are masked
    with log_file.open("rb") as log:
        log.seek(before)
        assert b"Traceback" not in log.read()
