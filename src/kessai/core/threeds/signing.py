"""The `hc` of the 3-D Secure 2 result sent to the merchant's term_url (paygent-protocol.md §1.5
450). A pure function: the SDK keeps its own copy (`kessai.client`), checked against the same
published vector, so a merchant's receiver written from the PAYGENT manual accepts Kessai's."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def result_hash(result: str, auth_id: str, attempt_kbn: str, hash_key: str) -> str:
    """`hex(sha256(result + 3ds_auth_id + attempt_kbn + 3Dセキュア結果受付ハッシュ鍵))`."""
    material = result + auth_id + attempt_kbn + hash_key
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def verify_params(params: Mapping[str, str], hash_key: str) -> bool:
    """Whether the term_url parameters carry the `hc` their result, id and attempt_kbn make."""
    expected = result_hash(
        params.get("result", ""),
        params.get("3ds_auth_id", ""),
        params.get("attempt_kbn", ""),
        hash_key,
    )
    return hmac.compare_digest(expected, params.get("hc", ""))
