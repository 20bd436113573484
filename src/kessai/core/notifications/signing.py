"""The `hc` of the difference notification push (決済情報差分通知, paygent-protocol.md §1.6) and of
the file payment notice (ファイル決済通知, §1.5 200/201).

Pure functions: the worker signs with them and tests check them against PAYGENT's published vector,
so a merchant's receiver written against the PAYGENT manual accepts Kessai's notices unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

# The fields the hash covers, in the order PAYGENT concatenates them (§1.6).
SIGNED_FIELDS = ("payment_notice_id", "payment_id", "trading_id", "payment_type", "payment_amount")


def notice_hash(fields: Mapping[str, str], hash_key: str) -> str:
    """`hex(sha256(payment_notice_id + payment_id + trading_id + payment_type + payment_amount + key))`.

    Missing fields count as empty strings, as PHP's string concatenation of an unset value would."""
    material = "".join(fields.get(name, "") for name in SIGNED_FIELDS) + hash_key
    return hashlib.sha256(material.encode("cp932", errors="replace")).hexdigest()


# The file payment notice's hash: file_receipt_id + event_id + receipt_date + occur_date + key.
FILE_SIGNED_FIELDS = ("file_receipt_id", "event_id", "receipt_date", "occur_date")


def file_notice_hash(fields: Mapping[str, str], hash_key: str) -> str:
    """`hex(sha256(file_receipt_id + event_id + receipt_date + occur_date + key))`."""
    material = "".join(fields.get(name, "") for name in FILE_SIGNED_FIELDS) + hash_key
    return hashlib.sha256(material.encode("cp932", errors="replace")).hexdigest()


def push_form(fields: Mapping[str, str], hash_key: str, kind: str = "payment") -> dict[str, str]:
    """The form parameters of one push: the notice's fields plus `hc` (a payment notice's from
    `payment_notice_id` on, signed as §1.6; a file notice's signed as the file notice)."""
    form = {name: str(value) for name, value in fields.items()}
    sign = file_notice_hash if kind == "file" else notice_hash
    form["hc"] = sign(form, hash_key)
    return form
