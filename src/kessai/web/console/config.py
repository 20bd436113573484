"""What the console face needs to know about its deployment (built from Settings by app.py)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from kessai.core.console.users import LockoutPolicy

PREFIX = "/console"
COOKIE = "kessai_console"  # the session
LOGIN_COOKIE = "kessai_console_login"  # the sign-in form's double-submit CSRF token

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ConsoleConfig:
    """`require_certificate`: every request must come with the signed-in user's own certificate
    (from the TLS connection, or from `cert_header` when the peer is one of `trusted_proxies`).
    `var_dir` holds the console CA that issues certificates."""

    var_dir: Path
    require_certificate: bool
    idle: timedelta = timedelta(minutes=15)
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    cert_header: str | None = None
    trusted_proxies: tuple[Network, ...] = ()
    # Statement PDFs (支払明細書): the issuer, its registration number for statements closed
    # without one, and the Japanese font (None: an installed IPA font).
    invoice_issuer_name: str = "Kessai"
    invoice_registration_number: str | None = None
    font: Path | None = None

    @staticmethod
    def networks(values: list[str]) -> tuple[Network, ...]:
        """Addresses or CIDR networks; raises ValueError naming a bad entry."""
        return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)
