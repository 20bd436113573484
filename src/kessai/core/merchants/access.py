"""Where a merchant's module telegrams may come from and how they authenticate.

- Module paths: `/n/…` authenticates the merchant by its client certificate, `/s/…` by the telegram
  hash (`hc`, see `telegram_hash.py`). A merchant may be limited to one of them.
- The IP allow-list (PAYGENT's P015): addresses and CIDR networks, IPv4 and IPv6. Empty means any
  address, except that a production merchant's `/s/` telegrams need a list: without a client
  certificate, the list is the one factor that does not live in the shop's configuration files
  (which also hold the connect password and the hash key).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from kessai.kit.errors import InvalidRequest

CERTIFICATE_PATH = "n"  # /n/…: client certificate
HASH_PATH = "s"  # /s/…: telegram hash check
MODULE_PATHS = (CERTIFICATE_PATH, HASH_PATH)
MAX_NETWORKS = 64

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def check_paths(paths: Iterable[str]) -> str:
    """The stored form ("n", "s" or "n,s") of a choice of module paths; refuses others."""
    chosen = {p.strip().lower() for p in paths if p.strip()}
    unknown = sorted(chosen - set(MODULE_PATHS))
    if unknown or not chosen:
        raise InvalidRequest(message="module paths must be one or both of: n, s")
    return ",".join(p for p in MODULE_PATHS if p in chosen)


def normalise_allow_list(entries: Iterable[str]) -> str:
    """The stored form of an allow-list: canonical networks, space-separated, duplicates dropped.

    An address is a network of one (/32, /128). A network with host bits set (10.0.0.1/24) is
    refused rather than silently widened or narrowed: the operator meant something else."""
    networks: list[str] = []
    for entry in entries:
        for word in entry.replace(",", " ").split():
            network = _network(word)
            if str(network) not in networks:
                networks.append(str(network))
    if len(networks) > MAX_NETWORKS:
        raise InvalidRequest(message=f"at most {MAX_NETWORKS} networks in an IP allow-list")
    return " ".join(networks)


def _network(word: str) -> Network:
    try:
        return ipaddress.ip_network(word, strict=True)
    except ValueError:
        raise InvalidRequest(
            message=f"{word!r} is not an IP address or a network (e.g. 203.0.113.0/24, 2001:db8::/32)"
        ) from None


def address_allowed(address: str, allow_list: Iterable[str]) -> bool:
    """Whether `address` is inside one of the stored networks. An unparsable address is not."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d
    return any(ip in ipaddress.ip_network(network) for network in allow_list)
