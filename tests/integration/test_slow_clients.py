"""Slow and greedy clients (issue #11, item 10): the gateway, served as `kessai serve` serves it
(`build_uvicorn_config`, both HTTP implementations), closes a connection whose request headers or
body do not arrive within their bounds, and refuses connections over the per-address limit while
other clients are still served. Slowloris sockets on 127.0.0.1, one byte per tick, at most 6 s."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from kessai.app import Runtime, create_app
from kessai.tls.limits import ConnectionLimits
from kessai.tls.server import build_uvicorn_config
from tests.support.servers import serve_config

LIMITS = ConnectionLimits(header_timeout=1.0, body_timeout=1.5, per_client=4)
SLACK = 1.0  # scheduling on shared CI cores
TICK = 0.25
OTHER_ADDRESS = "127.0.0.2"  # Linux answers the whole of 127/8 on the loopback interface


@pytest.fixture(scope="module", params=["httptools", "h11"])
def guarded(request: pytest.FixtureRequest, runtime: Runtime) -> Iterator[tuple[str, int]]:
    config = build_uvicorn_config(
        create_app(runtime),
        host="127.0.0.1",
        port=0,
        http=request.param,
        log_level="warning",
        limits=LIMITS,
    )
    with serve_config(config) as url:
        parts = urlsplit(url)
        yield str(parts.hostname), int(parts.port or 0)


def is_closed(sock: socket.socket) -> bool:
    """Whether the server closed `sock` (an answer before the close, e.g. 429, counts)."""
    sock.settimeout(0.05)
    try:
        while chunk := sock.recv(4096):
            del chunk
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


def trickle(socks: dict[str, socket.socket], payload: bytes) -> dict[str, float]:
    """Send one byte of `payload` per tick on each socket until the server closes them all (or
    6 s pass); answer how long each stayed open."""
    started, closed_after = time.monotonic(), {}
    for tick in range(int(6 / TICK)):
        for name, sock in socks.items():
            if name in closed_after:
                continue
            with contextlib.suppress(OSError):  # closed already: found out below
                sock.send(payload[tick % len(payload) : tick % len(payload) + 1])
            if is_closed(sock):
                closed_after[name] = time.monotonic() - started
        if len(closed_after) == len(socks):
            break
        time.sleep(TICK)
    return closed_after


def test_slow_clients_are_cut_off_and_one_address_cannot_take_every_connection(
    guarded: tuple[str, int],
) -> None:
    host, port = guarded
    slow = {f"headers{i}": socket.create_connection((host, port)) for i in range(3)}
    body = socket.create_connection((host, port))
    body.sendall(b"POST /n/card/request HTTP/1.1\r\nHost: kessai\r\nContent-Length: 500\r\n\r\n")
    slow["body"] = body

    closed_after = trickle(slow, b"GET /health HTTP/1.1\r\nHost: kessai\r\nX-Slow: yes\r\n")

    assert set(closed_after) == set(slow), f"still open after 6 s: {set(slow) - set(closed_after)}"
    assert all(closed_after[f"headers{i}"] < LIMITS.header_timeout + SLACK for i in range(3))
    assert closed_after["body"] < LIMITS.body_timeout + SLACK

    held = [socket.create_connection((host, port)) for _ in range(LIMITS.per_client)]
    one_too_many = socket.create_connection((host, port))
    time.sleep(0.2)
    assert is_closed(one_too_many)
    assert not any(is_closed(sock) for sock in held)  # within their header time: still open
    other = httpx.HTTPTransport(local_address=OTHER_ADDRESS)
    with httpx.Client(transport=other) as client:
        assert client.get(f"http://{host}:{port}/health").status_code == 200
    for sock in (*slow.values(), *held, one_too_many):
        sock.close()
    time.sleep(0.2)
    assert httpx.get(f"http://{host}:{port}/health").status_code == 200  # the address is free
