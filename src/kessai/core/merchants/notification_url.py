"""Checks on a merchant's notification URL (差分通知先URL), so the push cannot be aimed inside.

A URL must be http(s) with a host. In production mode its host must not be, nor resolve to, an
internal address (loopback, private, link-local, multicast, reserved, unspecified): otherwise the
gateway's push worker could be made to POST into the operator's own network (SSRF). Sandbox
merchants may use internal URLs (a receiver on localhost is how people try notices out).
The push worker should check the address it actually connects to with `is_internal_address` too:
DNS can change after the URL was accepted.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

from kessai.kit.errors import InvalidRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Sequence[str]]

RESOLVE_TIMEOUT_SECONDS = 3.0

_INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT: not the public internet either
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "::/128",
        "fc00::/7",
        "fe80::/10",
    )
)


def is_internal_address(address: IPAddress) -> bool:
    """Whether `address` is loopback, private, link-local, multicast, reserved or unspecified."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return True
    return any(address in net for net in _INTERNAL_NETWORKS)


def resolve_host(host: str, *, timeout: float = RESOLVE_TIMEOUT_SECONDS) -> list[str]:
    """The addresses `host` resolves to; [] when it does not resolve within `timeout` seconds."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kessai-resolve")
    try:
        infos = pool.submit(socket.getaddrinfo, host, None).result(timeout=timeout)
    except (OSError, UnicodeError, FutureTimeout):
        return []
    finally:
        pool.shutdown(wait=False)  # a hung lookup must not hold the caller
    return sorted({str(info[4][0]) for info in infos})


def check_notification_url(url: str, *, mode: str, resolve: Resolver = resolve_host) -> str:
    """`url` if the push may go there in `mode`; raises InvalidRequest saying what to do."""
    host = _http_host(url)
    if mode != "production":
        return url
    addresses = _addresses(host, resolve)
    internal = sorted(a for a in addresses if is_internal_address(ipaddress.ip_address(a)))
    if internal:
        raise InvalidRequest(
            field="notification_url",
            message=f"notification URL host {host!r} is an internal address ({', '.join(internal)});"
            " production merchants need a public host (internal URLs work in sandbox mode)",
        )
    return url


def _http_host(url: str) -> str:
    """The host of an http(s) URL; InvalidRequest for another scheme, no host or a bad port."""
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # .port raises ValueError on a bad port
    except ValueError:
        host = None
    if not host or not url.lower().startswith(("http://", "https://")):
        raise InvalidRequest(
            field="notification_url",
            message=f"notification URL {url!r} must be http:// or https:// with a host,"
            " e.g. https://shop.example.com/paygent/notice",
        )
    return host


def _addresses(host: str, resolve: Resolver) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    addresses = list(resolve(host))
    if not addresses:
        raise InvalidRequest(
            field="notification_url",
            message=f"notification URL host {host!r} does not resolve; check the name"
            " (production merchants need a host in public DNS)",
        )
    return addresses
