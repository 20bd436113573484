"""Run uvicorn with mutual TLS and tell the ASGI app which merchant connected.

PAYGENT authenticates module-type clients with a client certificate (spec §1.1). Uvicorn terminates
TLS but does not put the peer certificate into the ASGI scope, so this module supplies:

- `ssl_context_for_server`: TLS ≥ 1.2, the server certificate, and the merchant CA with
  ``verify_mode = CERT_OPTIONAL``. A client **without** a certificate completes the handshake and
  reaches the app, which answers ``P016`` at the protocol level as PAYGENT does. A client whose
  certificate does **not** chain to the merchant CA (or is expired, or is not for clientAuth) fails
  the handshake itself: Python's `ssl` offers no verify callback to let such a connection through,
  so those clients see the connection dropped (asyncio sends no alert; with TLS 1.3 they notice on
  their first read) instead of an answer with ``P016``.
- `MTLSHttpToolsProtocol` / `MTLSH11Protocol`: uvicorn's two HTTP/1.1 protocols, extended so that
  each connection reads the verified peer certificate once (after the handshake, in
  ``connection_made``) and every request scope on it carries ``scope["extensions"]["tls"]``
  (`TLSExtension`): the ASGI TLS extension's keys plus ``client_cert`` (the `getpeercert()` dict or
  None) and ``merchant_id``; and so that each keeps `kessai.tls.limits`' read deadlines and
  per-address limit (plain HTTP too), from the `ServingConfig`.
- `build_uvicorn_config` and `run_server` to start it; `peer_merchant_id` / `peer_certificate` for
  the app.

Plain HTTP works too: no TLS, no extension, and the helpers answer None.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypedDict

import h11
import uvicorn
from cryptography import x509
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from kessai.tls.ca import certificate_fingerprint, merchant_id_from_cert
from kessai.tls.limits import ConnectionLimits, Phase, ReadGuard

TLS_EXTENSION: Final = "tls"
_TLS_VERSIONS: Final = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}

StrPath = str | os.PathLike[str]
HttpImplementation = Literal["httptools", "h11"]


class TLSExtension(TypedDict):
    """``scope["extensions"]["tls"]``: the ASGI TLS extension's keys plus Kessai's two."""

    server_cert: str | None
    client_cert_chain: list[str]
    client_cert_name: str | None
    client_cert_error: str | None
    tls_version: int | None
    cipher_suite: int | None
    client_cert: dict[str, Any] | None
    merchant_id: int | None


def ssl_context_for_server(
    cert: StrPath, key: StrPath | None, client_ca: StrPath | None
) -> ssl.SSLContext:
    """A server context: TLS ≥ 1.2, `cert`/`key`, and client certificates optional but verified.

    With `client_ca`, clients are asked for a certificate (``CERT_OPTIONAL``): none → the handshake
    completes and the app sees no peer; one that does not chain to `client_ca` → the handshake
    fails. Without `client_ca`, no client certificate is asked for. Raises `ssl.SSLError` /
    `OSError` for unreadable files.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def tls_extension_for(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> TLSExtension:
    """Describe an established TLS connection, including its verified client certificate if any."""
    peer = ssl_object.getpeercert() or None  # {} means "sent but not verified": not an identity
    der = ssl_object.getpeercert(binary_form=True) if peer is not None else None
    version = ssl_object.version()
    return TLSExtension(
        server_cert=None,
        client_cert_chain=[ssl.DER_cert_to_PEM_cert(der)] if der else [],
        client_cert_name=x509.load_der_x509_certificate(der).subject.rfc4514_string()
        if der
        else None,
        client_cert_error=None,
        tls_version=_TLS_VERSIONS.get(version) if version else None,
        cipher_suite=None,
        client_cert=peer,
        merchant_id=merchant_id_from_cert(peer),
    )


class PeerIdentityApp:
    """ASGI middleware that puts one connection's `TLSExtension` into each of its request scopes."""

    def __init__(self, app: ASGI3Application, tls: TLSExtension) -> None:
        self.app = app
        self.tls = tls

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] in ("http", "websocket"):
            extensions: dict[str, Any] = scope.setdefault("extensions", {})
            extensions[TLS_EXTENSION] = TLSExtension(**self.tls)  # a copy: the app may mutate it
        await self.app(scope, receive, send)


def with_peer_identity(app: ASGI3Application, transport: asyncio.BaseTransport) -> ASGI3Application:
    """`app` wrapped with the connection's TLS facts, or `app` itself for a plain-HTTP transport."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return app
    return PeerIdentityApp(app, tls_extension_for(ssl_object))


class ServingConfig(uvicorn.Config):
    """A `uvicorn.Config` that also carries the `ConnectionLimits` its protocols keep (picklable,
    so worker processes get them too)."""

    def __init__(self, app: Any, *, limits: ConnectionLimits, **options: Any) -> None:
        super().__init__(app, **options)
        self.limits = limits


def _guard(
    config: uvicorn.Config, transport: asyncio.Transport, client: tuple[str, int] | None
) -> ReadGuard:
    limits = config.limits if isinstance(config, ServingConfig) else ConnectionLimits()
    return ReadGuard(limits, transport, client[0] if client else None)


class MTLSHttpToolsProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol, publishing the client certificate in the scope and keeping
    the read deadlines and the per-address limit (`kessai.tls.limits`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = with_peer_identity(self.app, transport)
        self.guard = _guard(self.config, transport, self.client)
        if self.guard.admit(getattr(c, "client", None) for c in self.connections):
            self.guard.enter(Phase.HEADERS)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.cancel()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self.guard.enter(Phase.BODY)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.guard.enter(Phase.APP)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.cycle is None or self.cycle.response_complete:  # no pipelined request in flight
            self.guard.enter(Phase.HEADERS)


class MTLSH11Protocol(H11Protocol):
    """Uvicorn's h11 protocol, publishing the client certificate in the scope and keeping the
    read deadlines and the per-address limit (`kessai.tls.limits`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = with_peer_identity(self.app, transport)
        self.guard = _guard(self.config, transport, self.client)
        if self.guard.admit(getattr(c, "client", None) for c in self.connections):
            self.guard.enter(Phase.HEADERS)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def _follow(self) -> None:
        """The phase h11 says the client is in: before a request, sending its body, or done."""
        state = self.conn.their_state
        if state is h11.IDLE:
            self.guard.enter(Phase.HEADERS)
        elif state is h11.SEND_BODY:
            self.guard.enter(Phase.BODY)
        else:
            self.guard.enter(Phase.APP)


PROTOCOLS: Final[dict[str, type[asyncio.Protocol]]] = {
    "httptools": MTLSHttpToolsProtocol,
    "h11": MTLSH11Protocol,
}


def build_uvicorn_config(
    app: ASGI3Application | Callable[..., Any] | str,
    *,
    host: str,
    port: int,
    cert: StrPath | None = None,
    key: StrPath | None = None,
    client_ca: StrPath | None = None,
    workers: int = 1,
    log_level: str = "info",
    http: HttpImplementation = "httptools",
    access_log: bool = False,
    factory: bool = False,
    limits: ConnectionLimits | None = None,
) -> uvicorn.Config:
    """A `uvicorn.Config` serving `app` over TLS with optional client certificates, or plain HTTP.

    `cert`/`key`: the server certificate (`kessai.tls.ca.ensure_server_certificate`). `client_ca`:
    the merchant CA file (`kessai.tls.ca.merchant_ca_file`); with it, clients may present a
    certificate and the app reads it with `peer_merchant_id`. No `cert`: plain HTTP. `workers` > 1
    needs `app` as an import string (uvicorn spawns processes). Raises ValueError for
    `key`/`client_ca` without `cert`, or an unknown `http` implementation.

    `access_log` is off by default: uvicorn's access log writes query strings, and some PAYGENT
    clients put every field, card numbers included, in the query string (spec §1.2). Set it here
    rather than on the returned config: uvicorn applies it while constructing the config.
    `factory=True` when `app` names a function that builds the app. `limits`: the read deadlines
    and the per-address connection limit (`kessai.tls.limits`; default: its defaults).

    Uvicorn's own proxy-header handling is off: by default it rewrites the client address from
    X-Forwarded-For for any peer at 127.0.0.1, which would let a local process pass the P015
    allow-list or put any address in the console's audit log. The faces believe a proxy's headers
    only from `KESSAI_CONSOLE_TRUSTED_PROXIES` (`web/module/access.py`, `web/console/identity.py`).
    """
    if cert is None and (key is not None or client_ca is not None):
        raise ValueError("key and client_ca need cert: mutual TLS runs over TLS")
    if http not in PROTOCOLS:
        raise ValueError(f"http must be one of {sorted(PROTOCOLS)}")
    return ServingConfig(
        app,
        limits=limits or ConnectionLimits(),
        host=host,
        port=port,
        http=PROTOCOLS[http],
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        factory=factory,
        proxy_headers=False,
        ssl_certfile=cert,
        ssl_keyfile=key,
        ssl_ca_certs=client_ca,
        ssl_cert_reqs=ssl.CERT_OPTIONAL if client_ca is not None else ssl.CERT_NONE,
        ssl_context_factory=_context_factory if cert is not None else None,
    )


def run_server(config: uvicorn.Config) -> None:
    """Serve `config` until interrupted, in this process or in ``config.workers`` worker processes.

    The same dispatch as `uvicorn.run`, which only accepts keyword options and so cannot take the
    protocol classes and context factory `build_uvicorn_config` sets. Raises ValueError for several
    workers with an app object instead of an import string.
    """
    if config.workers > 1:
        if not isinstance(config.app, str):
            raise ValueError(
                "several workers need the app as an import string, e.g. 'kessai.app:app'"
            )
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    uvicorn.Server(config).run()


def start_beside(config: uvicorn.Config, *, timeout: float = 10.0) -> uvicorn.Server:
    """Serve `config` in a daemon thread of this process (a second listener beside `run_server`'s,
    e.g. the simulators'), once it listens. Raises RuntimeError if it cannot (port taken)."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name=f"listener-{config.port}")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"could not listen on {config.host}:{config.port}")
        time.sleep(0.01)
    return server


def peer_certificate(scope: Mapping[str, Any]) -> dict[str, Any] | None:
    """The verified client certificate of the connection (`getpeercert()` form), or None."""
    tls = _tls_extension(scope)
    certificate = tls.get("client_cert") if tls is not None else None
    return certificate if isinstance(certificate, dict) else None


def peer_merchant_id(scope: Mapping[str, Any]) -> int | None:
    """The merchant ID in the verified client certificate's CN; None without TLS or certificate."""
    tls = _tls_extension(scope)
    merchant_id = tls.get("merchant_id") if tls is not None else None
    return merchant_id if isinstance(merchant_id, int) else None


def peer_certificate_fingerprint(scope: Mapping[str, Any]) -> str | None:
    """SHA-256 (hex) of the verified client certificate's DER; None without TLS or certificate."""
    tls = _tls_extension(scope)
    chain = tls.get("client_cert_chain") if tls is not None else None
    if not chain or not isinstance(chain[0], str):
        return None
    return certificate_fingerprint(ssl.PEM_cert_to_DER_cert(chain[0]))


def _tls_extension(scope: Mapping[str, Any]) -> Mapping[str, Any] | None:
    extensions = scope.get("extensions")
    tls = extensions.get(TLS_EXTENSION) if isinstance(extensions, Mapping) else None
    return tls if isinstance(tls, Mapping) else None


def _context_factory(
    config: uvicorn.Config, _default: Callable[[], ssl.SSLContext]
) -> ssl.SSLContext:
    # A module-level function so that the config stays picklable for uvicorn's worker processes.
    if config.ssl_certfile is None:
        raise ValueError("ssl_certfile is required")
    return ssl_context_for_server(config.ssl_certfile, config.ssl_keyfile, config.ssl_ca_certs)
