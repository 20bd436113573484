"""The link request's signature `hc`, in the merchant's scheme (its `link_signature`).

`paygent` (paygent-protocol.md §2.3): SHA-256 over eleven values exactly as sent, concatenated in a
fixed order, then the merchant's hash key; the merchant may append 0–20 random hex characters, so
only the first 64 characters are compared. A request with a non-empty `inform_url` is signed over
twelve values, `inform_url` between `id` and `seq_merchant_id` (§2.3 item 6: what Welcart and
PrestaShop still send). Which form applies is decided by the request alone — `inform_url` present
or not — and only that form is checked: trying both until one fits would let a buyer drop or add
the field. No character can cross into or out of `inform_url` under the same `hc`: its canonical
form starts with `http` and its neighbours `id` and `seq_merchant_id` are digits only (and a
different `seq_merchant_id` is another merchant, with another key). Values joined with no separator let characters move
from one field into the next under the same `hc`; the canonical forms (core.link.params) and the
rules of core.link.requests narrow that, but cannot remove it (docs/user/link-type.md).

`hmac`: HMAC-SHA256 under the same hash key over one `name=value` line per signed field, in a
fixed order, after a version line. No signed value may hold a line break (params refuses it), so
each value is exactly what stands between its `name=` and the next newline: two different requests
never give the same message. `hc` is exactly the 64 lowercase hex characters.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

# The §2.3 fields, in the order they are concatenated (without `inform_url`).
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
# §2.3 item 6, for a request with a non-empty `inform_url`. No other field is signed by `paygent`.
SIGNED_FIELDS_INFORM = (*SIGNED_FIELDS[:4], "inform_url", *SIGNED_FIELDS[4:])
# The `hmac` fields, in the order of their lines: every field that changes what is charged (amount,
# methods, classes, capture), to whom (merchant, order, customer and site, stored cards), how safely
# (3-D Secure, security code) and where the buyer and the result go (return URLs, inform_url), and
# for how long (terms).
HMAC_FIELDS = (
    "seq_merchant_id",
    "trading_id",
    "id",
    "payment_type",
    "payment_class",
    "sales_flg",
    "payment_term_day",
    "payment_term_min",
    "customer_id",
    "site_id",
    "stock_card_mode",
    "threedsecure_ryaku",
    "use_card_conf_number",
    "fix_params",
    "return_url",
    "stop_return_url",
    "finish_disable",
    "inform_url",
)
HMAC_VERSION = "kessai-link-hmac-v1"
SCHEMES = ("hmac", "paygent")
_HC = re.compile(r"[0-9a-f]{64}[0-9a-fA-F]{0,20}")
_HMAC_HC = re.compile(r"[0-9a-f]{64}")


def signed_fields(scheme: str) -> tuple[str, ...]:
    """The fields `scheme` can sign (the canonical forms are checked on all of them)."""
    return HMAC_FIELDS if scheme == "hmac" else SIGNED_FIELDS_INFORM


def paygent_order(fields: Mapping[str, str]) -> tuple[str, ...]:
    """The values `paygent` concatenates for this request: twelve when it has an `inform_url`,
    eleven otherwise (with it empty the two coincide)."""
    return SIGNED_FIELDS_INFORM if fields.get("inform_url") else SIGNED_FIELDS


def link_hash(fields: Mapping[str, str], key: str) -> str:
    """`paygent`'s `H`: lowercase hex SHA-256 of the signed values (absent ones contribute nothing)
    + key."""
    message = "".join(fields.get(name, "") for name in paygent_order(fields)) + key
    return hashlib.sha256(message.encode("utf-8")).hexdigest()


def hmac_message(fields: Mapping[str, str]) -> str:
    """What `hmac` signs: the version line, then `name=value` for each HMAC field (empty when
    absent), each line ending in LF."""
    lines = [HMAC_VERSION] + [f"{name}={fields.get(name, '')}" for name in HMAC_FIELDS]
    return "".join(line + "\n" for line in lines)


def link_hmac(fields: Mapping[str, str], key: str) -> str:
    """`hmac`'s `hc`: lowercase hex HMAC-SHA256 of `hmac_message` under the hash key (UTF-8)."""
    message = hmac_message(fields).encode("utf-8")
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(fields: Mapping[str, str], key: str, scheme: str) -> str:
    """`hc` for `fields` in `scheme` (without paygent's optional random suffix)."""
    return link_hmac(fields, key) if scheme == "hmac" else link_hash(fields, key)


def hash_matches(fields: Mapping[str, str], key: str, hc: str) -> bool:
    """Whether `hc` (H plus an optional random suffix) signs `fields` under `key` (`paygent`)."""
    if not _HC.fullmatch(hc):
        return False
    return hmac.compare_digest(hc[:64], link_hash(fields, key))


def signature_matches(fields: Mapping[str, str], key: str, scheme: str, hc: str) -> bool:
    """Whether `hc` signs `fields` under `key` in the merchant's `scheme`."""
    if scheme != "hmac":
        return hash_matches(fields, key, hc)
    if not _HMAC_HC.fullmatch(hc):
        return False
    return hmac.compare_digest(hc, link_hmac(fields, key))
