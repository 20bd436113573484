"""What `/s/…` asks of a telegram instead of a client certificate: `request_date` and `hc`.

The hash covers ``merchant_id + connect_id + connect_password + telegram_kind + telegram_version +
trading_id [+ payment_id] [+ amount] + request_date + key`` (`core/merchants/telegram_hash.py`).
Read as an attacker would, that concatenation has no separators: `trading_id` may end in digits,
`payment_id` and the amount are digits, so ``("wc_5", "", "1500")`` and ``("wc_51", "", "500")``,
or a payment_id that swallows the amount, give the same bytes. Two rules narrow that down:

1. Every signed field has one canonical form, checked before the hash: ASCII only, `merchant_id`
   and `payment_id` without leading zeros, amounts as `0|[1-9][0-9]*` (450's decimals refused
   here), `request_date` exactly 14 digits naming a real time, `hc` 64 lowercase hex digits.
2. Which optional parts a kind has is fixed by the kind (`SHAPES`), not by what was sent: a
   follow-up that changes a payment (021, 022, 023, 028, 029, 101–103) must send `payment_id`
   (the trading_id-only form is for `/n/`), a first telegram must leave it empty; the amount part
   is the kind's own amount field (`payment_amount`, or `amount` for 050/060/100/103), always
   present where the kind has one, and an amount field the kind does not use must be empty. So no
   field can be dropped or added under the same signature; with `payment_id` present, the
   gateway's check that `trading_id` and `payment_id` name the same payment confines a shifted
   boundary to another existing payment of the same shop. The one exception is 094, the
   read-only inquiry: after a lost 020 answer the shop knows only its trading_id, so 094 may name
   the payment either way; a shifted 094 can at most read another payment of the same shop.

What remains is a shifted boundary between `trading_id` and the amount of a first telegram
(020, 010, 030, 040, 050, 060, 100, 450) — a new payment under a neighbouring trading_id for an
amount missing or gaining a leading digit — open only to someone holding a signature the gateway
has not yet seen. The IP allow-list, required for `/s/` in production, and the replay store leave
that someone no way to use it (docs/user/module-type.md, "Risks").
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
_LOWER_HEX = re.compile(r"[0-9a-f]{64}")
_AMOUNT_FIELDS = ("payment_amount", "amount")

# The follow-ups that change a payment: on /s/ they name it by payment_id.
_CHANGES_A_PAYMENT = frozenset({"021", "022", "023", "028", "029", "101", "102", "103"})
_INQUIRY = "094"  # read-only: by payment_id or by trading_id alone


class PaymentIdPart(StrEnum):
    """Whether a kind's hash has a payment_id part."""

    REQUIRED = "required"  # a part: must be sent
    FORBIDDEN = "forbidden"  # must be empty (a first telegram makes the payment)
    EITHER = "either"  # 094 only: by payment_id or by trading_id alone


@dataclass(frozen=True, slots=True)
class HashShape:
    """The optional parts of one kind's hash, fixed by the kind."""

    payment_id: PaymentIdPart
    amount: str | None  # the field that is the amount part (must be sent); None: no amount part


def _shape(kind: str) -> HashShape:
    names = {spec.name for spec in REQUEST_SPECS[kind]}
    amount = next((name for name in _AMOUNT_FIELDS if name in names), None)
    if kind in _CHANGES_A_PAYMENT:
        return HashShape(PaymentIdPart.REQUIRED, amount)
    if kind == _INQUIRY:
        return HashShape(PaymentIdPart.EITHER, amount)
    return HashShape(PaymentIdPart.FORBIDDEN, amount)


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
        _amount(shape, raw, fields),
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


def _amount(shape: HashShape, raw: Mapping[str, str], fields: Mapping[str, str]) -> str:
    for name in _AMOUNT_FIELDS:
        if name != shape.amount and raw.get(name):
            raise InvalidRequest("P010", field=name)  # a second amount the hash would not cover
    if shape.amount is None:
        return ""
    value = fields[shape.amount]  # required by the kind's spec, so present and not empty
    if not _CANONICAL_AMOUNT.fullmatch(value):
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
