"""Checking the EMV 3-D Secure 2 result the buyer's browser brings to your term_url (telegram 450,
paygent-protocol.md §1.5): the GET parameters carry ``hc``, signed with your 3-D Secure result
hash key (3Dセキュア結果受付ハッシュ鍵). Check it before sending 020 with the ``3ds_auth_id``::

    params = dict(request.query_params)
    if not verify_threeds_result(params, THREEDS_HASH_KEY):
        return forbidden()
    if params["result"] == "0":
        kessai.authorize(payment_amount=1500, trading_id="order_42",
                         threeds_auth_id=params["3ds_auth_id"])
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def threeds_result_hash(result: str, three_ds_auth_id: str, attempt_kbn: str, hash_key: str) -> str:
    """``hc``: hex sha256 of result, 3ds_auth_id, attempt_kbn and the key, concatenated."""
    text = result + three_ds_auth_id + attempt_kbn + hash_key
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_threeds_result(params: Mapping[str, str], hash_key: str) -> bool:
    """Whether the term_url parameters' ``hc`` matches their result, 3ds_auth_id and attempt_kbn
    under `hash_key` (compared in constant time). Missing parameters count as empty."""
    expected = threeds_result_hash(
        params.get("result", ""),
        params.get("3ds_auth_id", ""),
        params.get("attempt_kbn", ""),
        hash_key,
    )
    return hmac.compare_digest(expected, params.get("hc", ""))
