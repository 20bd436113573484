"""Tests that drive a Debian program (chromium, w3m, tmux, nginx) skip cleanly where it is missing,
with a reason naming the package; `tests/conftest.py` sums those skips up in one closing line."""

from __future__ import annotations

SYSTEM_SKIP = "needs the Debian package "
SYSTEM_DEPS_COMMAND = "make system-deps (as root)"


def needs_system_package(package: str) -> str:
    """The skip reason of a test whose program is missing."""
    return f"{SYSTEM_SKIP}{package}: {SYSTEM_DEPS_COMMAND}"
