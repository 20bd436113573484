"""Merchant credentials: generated here, stored as keyed hashes.

Connect passwords carry >= 128 bits of entropy, so a fast keyed hash (HMAC-SHA-256 under the server
secret) is enough and keeps every telegram cheap; argon2 is for people's console passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def new_connect_password() -> str:
    """32 alphanumeric characters: 62**32 ≈ 2**190, fits the protocol's alnum 32."""
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


def new_connect_id(merchant_id: int) -> str:
    return f"k{merchant_id}{secrets.token_hex(4)}"


def new_hash_key() -> str:
    """A hash key for the link type and the notifications (alnum, 24 characters)."""
    return "".join(secrets.choice(_ALNUM) for _ in range(24))


def new_telegram_hash_key() -> str:
    """The telegram hash key of `/s/…` (alnum, 32 characters: ≈ 2**190, as the password)."""
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


def hash_password(secret: bytes, password: str) -> str:
    return hmac.new(secret, password.encode(), hashlib.sha256).hexdigest()


def password_matches(secret: bytes, password: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_password(secret, password), stored_hash)
