"""Which door a module telegram came through, and from where: path mode (P004) and P015.

The client address is the TCP peer, or, when the peer is one of the trusted proxies (the same
`KESSAI_CONSOLE_TRUSTED_PROXIES` the console believes), the address that proxy reports in
X-Real-IP or as the last X-Forwarded-For entry (the one it appended itself). From anyone else
those headers are ignored, so a client cannot talk its way onto the allow-list.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from kessai.core.merchants.access import HASH_PATH, Network, address_allowed
from kessai.core.merchants.auth import MerchantIdentity
from kessai.kit.errors import AuthError, InvalidRequest
from kessai.web.module.specs import HASH_CHECK_PREFIX


def path_mode(path: str) -> str:
    """The mode of a path: "s" for `/s/…` (telegram hash), "n" for `/n/…` (client certificate)."""
    return HASH_PATH if path.startswith(HASH_CHECK_PREFIX) else "n"


def client_address(
    scope: Mapping[str, Any], headers: Mapping[str, str], trusted_proxies: Sequence[Network]
) -> str:
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    if not trusted_proxies or not _inside(peer, trusted_proxies):
        return peer
    reported = headers.get("x-real-ip") or headers.get("x-forwarded-for", "").split(",")[-1]
    return reported.strip() or peer


def _inside(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def check_access(identity: MerchantIdentity, mode: str, address: str) -> None:
    """P004 when the merchant may not use this path's mode; P015 when `address` is not on its
    allow-list, or when a production merchant uses `/s/` without one."""
    if mode not in identity.module_paths:
        raise InvalidRequest("P004")
    if identity.ip_allow_list:
        if not address_allowed(address, identity.ip_allow_list):
            raise AuthError("P015")
    elif mode == HASH_PATH and identity.mode == "production":
        raise AuthError("P015")
