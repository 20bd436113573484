"""Field rules of the module-type telegrams (spec §1.8): character classes, lengths, choices.

A telegram's fields are described as data (`FieldSpec`, see `specs.py`) and checked by
`validate`, which answers the first problem in spec order with the protocol's code: P005
missing, P006 empty, P008 wrong character class, P009 wrong length, P010 not an allowed value.
Lengths are Windows-31J bytes, because that is what PAYGENT counts (a full-width character is 2).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum

from kessai.kit.errors import InvalidRequest

# The protocol counts and checks characters in Windows-31J, whatever the request's charset was.
WIRE_CHARSET = "cp932"


class FieldKind(StrEnum):
    """The character class of a field's value."""

    DIGITS = "digits"  # ASCII 0-9
    ALNUM = "alnum"  # ASCII letters and digits
    ID = "id"  # ASCII letters, digits and `_` (trading_id, customer_id)
    ASCII = "ascii"  # printable ASCII, space included
    FULLWIDTH = "fullwidth"  # 全角: JIS X 0208 rows 1–8 and 16–84 only
    KANA = "kana"  # 半角英数カナ: the Zengin (全銀) set
    TEXT = "text"  # anything Windows-31J can carry, no control characters
    AMOUNT = "amount"  # digits without a leading zero ("0" itself is allowed)


class Required(Enum):
    """The spec's requirement marks."""

    REQUIRED = "○"
    CONDITIONAL = "△"  # the handler decides whether it is needed
    OPTIONAL = "▲"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One request field: name as the protocol spells it, class, byte bounds, allowed values."""

    name: str
    kind: FieldKind
    max_bytes: int
    required: Required
    min_bytes: int = 0
    choices: tuple[str, ...] = ()


_DIGITS = re.compile(r"[0-9]+")
_ALNUM = re.compile(r"[0-9A-Za-z]+")
_ID = re.compile(r"[0-9A-Za-z_]+")
_ASCII = re.compile(r"[\x20-\x7e]+")
_AMOUNT = re.compile(r"0|[1-9][0-9]*")

# Zengin set: digits, A–Z, half-width katakana (U+FF66–U+FF9F, voicing marks included), the
# corner brackets ｢｣, space and ¥ , . ( ) - /. The yen sign is byte 0x5C in Windows-31J, which
# Python's cp932 decodes as a backslash; so the backslash is the yen sign here.
_KANA = re.compile(r"[0-9A-Z\uff66-\uff9f\uff62\uff63 \\,.()\-/]+")

# PAYGENT upper-cases lower-case letters and small kana rather than refusing them (§1.8).
_SMALL_TO_LARGE_KANA = str.maketrans("ｧｨｩｪｫｬｭｮｯ", "ｱｲｳｴｵﾔﾕﾖﾂ")

# JIS X 0208 rows allowed in full-width fields. Row 13 (NEC specials such as ①) and rows 89–92 and
# 115–119 (NEC-selected and IBM extensions such as 髙) are Windows-31J vendor additions, refused.
_FULLWIDTH_ROWS = frozenset(range(1, 9)) | frozenset(range(16, 85))


def _jis_row(lead: int, trail: int) -> int:
    """The JIS X 0208 row (区) of a two-byte Shift_JIS code."""
    base = lead - 0x81 if lead <= 0x9F else lead - 0xC1
    return base * 2 + 1 + (1 if trail >= 0x9F else 0)


def _is_jis_x0208(char: str) -> bool:
    try:
        encoded = char.encode(WIRE_CHARSET)
    except UnicodeEncodeError:
        return False
    return len(encoded) == 2 and _jis_row(encoded[0], encoded[1]) in _FULLWIDTH_ROWS


def _is_fullwidth(value: str) -> bool:
    return all(_is_jis_x0208(char) for char in value)


def _is_text(value: str) -> bool:
    return not any(unicodedata.category(char) == "Cc" for char in value)


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.fullmatch(value) is not None


_CLASS_CHECKS: dict[FieldKind, Callable[[str], bool]] = {
    FieldKind.DIGITS: _matches(_DIGITS),
    FieldKind.ALNUM: _matches(_ALNUM),
    FieldKind.ID: _matches(_ID),
    FieldKind.ASCII: _matches(_ASCII),
    FieldKind.FULLWIDTH: _is_fullwidth,
    FieldKind.KANA: _matches(_KANA),
    FieldKind.TEXT: _is_text,
    FieldKind.AMOUNT: _matches(_AMOUNT),
}


def normalise_kana(value: str) -> str:
    """Upper-case letters and small kana, and spell the yen sign as Windows-31J byte 0x5C does."""
    return value.upper().translate(_SMALL_TO_LARGE_KANA).replace("¥", "\\")


def wire_length(value: str) -> int | None:
    """Length in Windows-31J bytes, or None when Windows-31J cannot carry a character of it."""
    try:
        return len(value.encode(WIRE_CHARSET))
    except UnicodeEncodeError:
        return None


def check_field(spec: FieldSpec, raw: str | None) -> str:
    """The value of one field after its checks; `raw` is None when the parameter was not sent."""
    if raw is None or raw == "":
        if spec.required is Required.REQUIRED:
            raise InvalidRequest("P005" if raw is None else "P006", field=spec.name)
        return ""
    value = normalise_kana(raw) if spec.kind is FieldKind.KANA else raw
    size = wire_length(value)
    if size is None or not _CLASS_CHECKS[spec.kind](value):
        raise InvalidRequest("P008", field=spec.name)
    if not spec.min_bytes <= size <= spec.max_bytes:
        raise InvalidRequest("P009", field=spec.name)
    if spec.choices and value not in spec.choices:
        raise InvalidRequest("P010", field=spec.name)
    return value


def validate(fields: Mapping[str, str], specs: Sequence[FieldSpec]) -> dict[str, str]:
    """The specified fields, checked in spec order; absent or empty non-required ones are "".

    Raises the first `InvalidRequest` in spec order. Unknown fields (`limit_count`, …) are ignored.
    Values are returned as sent except kana fields, which come back normalised (`normalise_kana`).
    To tell "sent empty" from "not sent" (telegram 116), ask `present` on the decoded fields.
    """
    return {spec.name: check_field(spec, fields.get(spec.name)) for spec in specs}


def present(fields: Mapping[str, str], name: str) -> bool:
    """Whether the request carried the parameter, even empty (116: empty clears, absent keeps)."""
    return name in fields
