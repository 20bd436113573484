"""Who is at the other end: the client certificate and the client address.

Direct TLS: the certificate uvicorn verified (against the console CA) is in the request scope.
Behind a reverse proxy that terminates TLS (nginx), the proxy passes the verified certificate in a
header (`$ssl_client_escaped_cert`) and the client address in X-Forwarded-For/X-Real-IP; both
are believed only from a configured trusted proxy, and the certificate is checked again against
the console CA here. From anyone else those headers are ignored, so they cannot be forged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from kessai.tls.ca import verified_console_fingerprint
from kessai.tls.server import peer_certificate_fingerprint
from kessai.web.console.config import ConsoleConfig


def peer_address(scope: Mapping[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def from_trusted_proxy(config: ConsoleConfig, scope: Mapping[str, Any]) -> bool:
    if not config.trusted_proxies:
        return False
    try:
        address = ipaddress.ip_address(peer_address(scope))
    except ValueError:
        return False
    return any(address in network for network in config.trusted_proxies)


def client_ip(config: ConsoleConfig, scope: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """The address to audit: the proxy's word for it if the proxy is trusted, else the peer."""
    if from_trusted_proxy(config, scope):
        real = headers.get("x-real-ip") or headers.get("x-forwarded-for", "").split(",")[-1]
        if real.strip():
            return real.strip()
    return peer_address(scope)


def certificate_fingerprint(
    config: ConsoleConfig, scope: Mapping[str, Any], headers: Mapping[str, str]
) -> str | None:
    """The SHA-256 fingerprint of the client certificate this request comes with, or None."""
    direct = peer_certificate_fingerprint(scope)
    if direct is not None:
        return direct
    if config.cert_header is None or not from_trusted_proxy(config, scope):
        return None
    value = headers.get(config.cert_header.lower(), "")
    if not value or value == "(null)":
        return None
    return verified_console_fingerprint(config.var_dir, unquote(value).encode("ascii", "replace"))


def is_secure(config: ConsoleConfig, scope: Mapping[str, Any], headers: Mapping[str, str]) -> bool:
    """Whether the browser reached us over HTTPS (directly, or through a trusted proxy)."""
    if scope.get("scheme") == "https":
        return True
    return from_trusted_proxy(config, scope) and headers.get("x-forwarded-proto") == "https"


def facts(
    config: ConsoleConfig, scope: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[str | None, str, bool]:
    """(certificate fingerprint, client address, came over HTTPS) of one request."""
    return (
        certificate_fingerprint(config, scope, headers),
        client_ip(config, scope, headers),
        is_secure(config, scope, headers),
    )
