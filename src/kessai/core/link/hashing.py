"""The link request's hash value `hc` (paygent-protocol.md §2.3).

SHA-256 over eleven values exactly as sent, in a fixed order, then the merchant's hash key; the
merchant may append 0–20 random hex characters, so only the first 64 characters are compared.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

# The signed fields, in the order they are concatenated. No other field is signed.
SIGNED_FIELDS = (
    "trading_id",
    "payment_type",
    "fix_params",
    "id",
    "seq_merchant_id",
    "payment_term_day",
    "payment_term_min",
    "payment_class",
    "use_card_conf_number",
    "customer_id",
    "threedsecure_ryaku",
)
_HC = re.compile(r"[0-9a-f]{64}[0-9a-fA-F]{0,20}")


def link_hash(fields: Mapping[str, str], key: str) -> str:
    """`H`: lowercase hex SHA-256 of the signed values (absent ones contribute nothing) + key."""
    message = "".join(fields.get(name, "") for name in SIGNED_FIELDS) + key
    return hashlib.sha256(message.encode("utf-8")).hexdigest()


def hash_matches(fields: Mapping[str, str], key: str, hc: str) -> bool:
    """Whether `hc` (H plus an optional random suffix) signs `fields` under `key`."""
    if not _HC.fullmatch(hc):
        return False
    return hmac.compare_digest(hc[:64], link_hash(fields, key))
