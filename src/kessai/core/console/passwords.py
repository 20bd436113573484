"""Console passwords: argon2id hashes, generated initial passwords, and the rules for new ones.

argon2id with argon2-cffi's RFC 9106 "low memory" profile (64 MiB, 3 passes): slow on purpose,
unlike the connect passwords of telegrams (which are long random keys checked on every request).
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kessai.kit.errors import InvalidRequest

MIN_LENGTH = 12
_hasher = PasswordHasher()
# Verified against when the login is unknown, so that answering takes as long as for a real user.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; an unknown user (`None`) costs the same time and fails."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_initial_password() -> str:
    """A random password for a new user or a reset (shown once; changed at first login)."""
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


def check_new_password(password: str, *, login: str) -> None:
    """The rules a chosen password must meet (PCI DSS: at least 12 characters, letters and
    digits); raises InvalidRequest saying which one failed."""
    if len(password) < MIN_LENGTH:
        raise InvalidRequest(message=f"パスワードは{MIN_LENGTH}文字以上にしてください。")
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        raise InvalidRequest(message="パスワードには英字と数字の両方を含めてください。")
    if login.lower() in password.lower():
        raise InvalidRequest(message="パスワードにログインIDを含めないでください。")
