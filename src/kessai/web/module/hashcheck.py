"""What `/s/…` asks of a telegram instead of a client certificate: `request_date` and `hc`.

The hash covers ``merchant_id + connect_id + connect_password + telegram_kind + telegram_version +
trading_id [+ payment_id] [+ amount] + request_date + key`` (`core/merchants/telegram_hash.py`),
each optional part exactly when sent, with its value as sent: PAYGENT's formula, which the
WooCommerce plugin computes. Read as an attacker would, that concatenation has no separators:
`trading_id` may end in digits, `payment_id` and the amount are digits, so ``("wc_5", "", "1500")``
and ``("wc_51", "", "500")``, or a payment_id that swallows the amount, give the same bytes.
What narrows that down:

1. Every signed field has one canonical form, checked before the hash: ASCII only, `merchant_id`
   and `payment_id` without leading zeros, amounts as `0|[1-9][0-9]*` (450's may add a fraction,
   "1500.00": its integer part is canonical, and `trading_id` has no dot), `request_date` exactly
   14 digits naming a real time, `hc` 64 lowercase hex digits.
2. Which optional parts a kind may have is fixed by the kind (`SHAPES`). A first telegram leaves
   payment_id empty. 021, 023, 101–103 name their payment by payment_id (no client sends them
   by trading_id alone). 022, 028 and 029 may name it either way, because the WooCommerce plugin
   captures (immediate sale) and corrects subscription orders by trading_id; 094 too, after a lost
   020 answer. The amount part is the kind's own amount field (`payment_amount`, or `amount` for
   050/060/100/103); a kind without one refuses any amount field, except 022, whose
   `payment_amount` the plugin sends with its immediate sale: signed when sent and, as on `/n/`,
   not used. With `payment_id` present, the gateway's check that `trading_id` and `payment_id`
   name the same payment confines a shifted boundary to another existing payment of the shop.

What remains is a shifted boundary between `trading_id`, a payment_id and the amount where the
kind lets them be sent or not: a first telegram under a neighbouring trading_id for an amount
missing or gaining a leading digit; a 022/028/029 by trading_id acting on a neighbouring order of
the same shop. It is open only to someone holding a signature the gateway has not yet seen, who
submits it first from an address on the merchant's IP allow-list (required for `/s/` in
production) within the ±10-minute window; the replay store then refuses the original
(docs/user/module-type.md, "Risks").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kessai.core.context import Core
from kessai.core.merchants.auth import MerchantIdentity
from kessai.core.merchants.telegram_hash import (
    check_window,
    claim,
    hash_matches,
    request_instant,
)
from kessai.kit.errors import AuthError, InvalidRequest
from kessai.web.module.fields import FieldKind, FieldSpec, Required, check_field
from kessai.web.module.specs import REQUEST_SPECS

REQUEST_DATE = FieldSpec("request_date", FieldKind.DIGITS, 14, Required.REQUIRED, min_bytes=14)
HC = FieldSpec("hc", FieldKind.ALNUM, 64, Required.REQUIRED, min_bytes=64)

_CANONICAL_MERCHANT_ID = re.compile(r"[1-9][0-9]{0,8}")
_CANONICAL_ID = re.compile(r"[1-9][0-9]*")
_CANONICAL_AMOUNT = re.compile(r"0|[1-9][0-9]*")
_CANONICAL_DECIMAL_AMOUNT = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_LOWER_HEX = re.compile(r"[0-9a-f]{64}")
_AMOUNT_FIELDS = ("payment_amount", "amount")

# Follow-ups that name their payment by payment_id on /s/ (the trading_id-only form is for /n/).
_BY_PAYMENT_ID = frozenset({"021", "023", "101", "102", "103"})
# By payment_id, or by trading_id alone as on /n/: the WooCommerce plugin's capture (022) and
# subscription corrections (028/029); 094, the read-only inquiry after a lost 020 answer.
_BY_EITHER = frozenset({"022", "028", "029", "094"})
# 022 has no amount, but the plugin's immediate sale sends it the 020's payment_amount: a part of
# the hash when sent, in 020's bounds, and not used (a capture is for the authorised amount).
_UNUSED_AMOUNTS = {"022": FieldSpec("payment_amount", FieldKind.AMOUNT, 7, Required.OPTIONAL)}
_DECIMAL_AMOUNT_KINDS = frozenset({"450"})  # [3DS2]: payment_amount "may have decimals"


class PaymentIdPart(StrEnum):
    """Whether a kind's hash has a payment_id part."""

    REQUIRED = "required"  # a part: must be sent
    FORBIDDEN = "forbidden"  # must be empty (a first telegram makes the payment)
    EITHER = "either"  # a part when sent: by payment_id, or by trading_id alone


@dataclass(frozen=True, slots=True)
class HashShape:
    """The optional parts of one kind's hash, fixed by the kind."""

    payment_id: PaymentIdPart
    # The field that is the amount part when sent (required where the kind's spec requires it);
    # None: the kind has no amount part, and any amount field sent is refused.
    amount: str | None
    decimals: bool = False  # the amount may have a fraction (450)


def _shape(kind: str) -> HashShape:
    names = {spec.name for spec in REQUEST_SPECS[kind]}
    unused = _UNUSED_AMOUNTS[kind].name if kind in _UNUSED_AMOUNTS else None
    amount = next((name for name in _AMOUNT_FIELDS if name in names), unused)
    decimals = kind in _DECIMAL_AMOUNT_KINDS
    if kind in _BY_PAYMENT_ID:
        return HashShape(PaymentIdPart.REQUIRED, amount, decimals)
    if kind in _BY_EITHER:
        return HashShape(PaymentIdPart.EITHER, amount, decimals)
    return HashShape(PaymentIdPart.FORBIDDEN, amount, decimals)


SHAPES: dict[str, HashShape] = {kind: _shape(kind) for kind in REQUEST_SPECS}


@dataclass(frozen=True, slots=True)
class Signature:
    """A telegram's parsed signature: what `hc` must sign, and the request_date as an instant."""

    parts: tuple[str, ...]
    request_date: str
    request_at: datetime
    hc: str


def signature(kind: str, raw: Mapping[str, str], fields: Mapping[str, str]) -> Signature:
    """The signed parts of a telegram whose fields passed `validate`, in canonical form only.

    Raises AuthError P002 for a non-canonical merchant_id, InvalidRequest P005/P006 (missing or
    empty), P008/P009 (character class, length) or P010 (not canonical, or a part the kind does
    not have) naming the field."""
    if not _CANONICAL_MERCHANT_ID.fullmatch(raw["merchant_id"]):
        raise AuthError("P002")
    shape = SHAPES[kind]
    request_date = check_field(REQUEST_DATE, raw.get("request_date"))
    hc = check_field(HC, raw.get("hc"))
    if not _LOWER_HEX.fullmatch(hc):
        raise InvalidRequest("P008", field="hc")
    parts = (
        raw["merchant_id"],
        raw["connect_id"],
        raw["connect_password"],
        kind,
        raw["telegram_version"],
        _trading_id(raw, fields),
        _payment_id(shape, raw, fields),
        _amount(kind, shape, raw, fields),
        request_date,
    )
    return Signature(parts, request_date, request_instant(request_date), hc)


def _trading_id(raw: Mapping[str, str], fields: Mapping[str, str]) -> str:
    if "trading_id" in fields:  # checked by `validate`: [0-9A-Za-z_], at most 25
        return fields["trading_id"]
    if raw.get("trading_id"):  # 091 has none; one sent anyway would be signed but unchecked
        raise InvalidRequest("P010", field="trading_id")
    return ""


def _payment_id(shape: HashShape, raw: Mapping[str, str], fields: Mapping[str, str]) -> str:
    value = fields.get("payment_id", "")
    match shape.payment_id:
        case PaymentIdPart.FORBIDDEN:
            if value or raw.get("payment_id"):
                raise InvalidRequest("P010", field="payment_id")
            return ""
        case PaymentIdPart.EITHER if not value:
            return ""
        case PaymentIdPart.REQUIRED if not value:
            code = "P005" if "payment_id" not in raw else "P006"
            raise InvalidRequest(code, field="payment_id")
    if not _CANONICAL_ID.fullmatch(value):
        raise InvalidRequest("P010", field="payment_id")
    return value


def _amount(kind: str, shape: HashShape, raw: Mapping[str, str], fields: Mapping[str, str]) -> str:
    for name in _AMOUNT_FIELDS:
        if name != shape.amount and raw.get(name):
            raise InvalidRequest("P010", field=name)  # an amount the hash would not cover
    if shape.amount is None:
        return ""
    if kind in _UNUSED_AMOUNTS:  # not in the kind's fields: checked here, as signed
        value = check_field(_UNUSED_AMOUNTS[kind], raw.get(shape.amount))
    else:  # checked by `validate`; present where the kind's spec requires it
        value = fields[shape.amount]
    canonical = _CANONICAL_DECIMAL_AMOUNT if shape.decimals else _CANONICAL_AMOUNT
    if value and not canonical.fullmatch(value):
        raise InvalidRequest("P010", field=shape.amount)
    return value


def check_signature(core: Core, identity: MerchantIdentity, signed: Signature) -> None:
    """Refuse a stale or future request_date, a wrong hc or a replay (P010 naming request_date or
    hc), then record the signature as used. The last step of admission: nothing before it
    stores anything, and a telegram refused here leaves no row."""
    now = core.clock.now()
    check_window(signed.request_at, now)
    keys = identity.telegram_keys
    if keys is None or not hash_matches(signed.parts, signed.hc, keys, now):
        raise InvalidRequest("P010", field="hc")
    claim(
        core.sessions,
        merchant_id=identity.id,
        request_date=signed.request_date,
        hc=signed.hc,
        request_at=signed.request_at,
        now=now,
    )
