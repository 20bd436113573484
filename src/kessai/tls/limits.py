"""Bounds on slow and greedy clients, kept by each connection of uvicorn's HTTP/1.1 protocols.

Uvicorn bounds only the idle time between two requests (`timeout_keep_alive`), and every byte a
client sends resets it: a client that sends its request a byte a second (slowloris) holds its
connection as long as it likes, and a handful of addresses can hold them all. `ReadGuard` adds:

- a header deadline: the request line and headers must arrive within `header_timeout` seconds of
  the connection opening (after the TLS handshake) or of the previous answer;
- a body deadline: the whole body within `body_timeout` seconds of the end of the headers;
- a per-address limit: a connection beyond `per_client` open ones from the same address is
  answered 429 and closed at once.

Past a deadline the connection is closed; the time the app spends on a request is not bounded
here. The protocols in `kessai.tls.server` tell the guard which phase a connection is in.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

log = logging.getLogger("kessai.serve")

_REFUSAL: Final = b"too many connections from this address\r\n"
_TOO_MANY: Final = (
    b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_REFUSAL), _REFUSAL)
)


@dataclass(frozen=True)
class ConnectionLimits:
    """KESSAI_HEADER_TIMEOUT, KESSAI_BODY_TIMEOUT, KESSAI_CONNECTIONS_PER_CLIENT (0: no limit)."""

    header_timeout: float = 10.0
    body_timeout: float = 60.0
    per_client: int = 50


class Phase(enum.Enum):
    HEADERS = "request headers"
    BODY = "request body"
    APP = "app"  # the app has the request: no read deadline


class ReadGuard:
    """One connection's read deadline; the protocol calls `enter` as the request moves on."""

    def __init__(
        self, limits: ConnectionLimits, transport: asyncio.Transport, client: str | None
    ) -> None:
        self.limits = limits
        self.transport = transport
        self.client = client
        self.phase: Phase | None = None
        self._timer: asyncio.TimerHandle | None = None

    def admit(self, peers: Iterable[object]) -> bool:
        """Whether this connection is within its address's limit among the open connections'
        `peers` ((address, port) pairs, this one's included); if not, answer 429 and close."""
        if not self.limits.per_client or self.client is None:
            return True
        same = sum(1 for peer in peers if isinstance(peer, tuple) and peer[0] == self.client)
        if same <= self.limits.per_client:
            return True
        log.warning("refused a connection from %s: %d open", self.client, same - 1)
        self.transport.write(_TOO_MANY)
        self.transport.close()
        return False

    def enter(self, phase: Phase) -> None:
        """The connection now waits for `phase`; its deadline starts now (not at each byte)."""
        if phase is self.phase or self.transport.is_closing():
            return
        self.cancel()
        self.phase = phase
        timeout = {Phase.HEADERS: self.limits.header_timeout, Phase.BODY: self.limits.body_timeout}
        if phase in timeout:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(timeout[phase], self._expire)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self.phase is None:
            return
        log.info("closed a connection from %s: %s too slow", self.client, self.phase.value)
        self.transport.close()
