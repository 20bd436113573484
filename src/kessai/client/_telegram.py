"""Building a telegram (電文): kinds, the URL path per kind, and the form body in Windows-31J.

The path table is the one PAYGENT's connect modules ship (spec §1.1): the full three-character kind
is looked up first, then its first two characters. Bodies are ``application/x-www-form-urlencoded``
with every value converted to Windows-31J (cp932) before percent-encoding, as the official modules
send them; the few UTF-8 kinds are sent as UTF-8 and say so in the Content-Type.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

TELEGRAM_VERSION: Final = "1.0"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
WINDOWS_31J: Final = "cp932"

FieldValue = str | int
Fields = Mapping[str, FieldValue | None]


class Kind(StrEnum):
    """The telegram kinds (電文種別ID) the typed methods send."""

    APPLY_ATM = "010"  # ATM決済申込 (Pay-easy)
    AUTHORIZE = "020"  # カード決済オーソリ
    VOID = "021"  # オーソリキャンセル
    CAPTURE = "022"  # 売上
    CANCEL_CAPTURE = "023"  # 売上キャンセル
    REGISTER_CARD = "025"  # カード情報設定
    DELETE_CARD = "026"  # カード情報削除
    LIST_CARDS = "027"  # カード情報照会 (CSV answer)
    CORRECT_AUTHORIZATION = "028"  # 補正オーソリ
    CORRECT_CAPTURE = "029"  # 補正売上
    APPLY_CVS = "030"  # コンビニ決済（番号方式）申込
    CVS_SLIP = "040"  # コンビニ決済（払込票方式）申込
    BANK_NET = "050"  # 銀行ネット決済申込 (the merchant names the bank)
    BANK_NET_ASP = "060"  # 銀行ネット決済ASP申込 (the buyer picks the bank)
    APPLY_VIRTUAL_ACCOUNT = "070"  # 仮想口座決済申込
    INQUIRE = "094"  # 決済情報照会
    APPLY_CARRIER = "100"  # 携帯キャリア決済申込
    CAPTURE_CARRIER = "101"  # 携帯キャリア決済売上
    CANCEL_CARRIER = "102"  # 携帯キャリア決済取消
    CORRECT_CARRIER = "103"  # 携帯キャリア決済補正売上
    AUTHENTICATE_CARRIER_USER = "104"  # 携帯キャリア決済ユーザ認証 (OpenID)
    RELEASE_OPEN_ID = "105"  # OpenID解除
    UPDATE_CARD = "116"  # カード情報更新
    THREEDS_AUTHENTICATE = "450"  # EMV 3Dセキュア認証 (UTF-8)
    SUBMIT_FILE = "200"  # ファイル決済要求 (the file is sent as its own bytes)
    FILE_RESULT = "201"  # ファイル決済結果照会 (an unquoted CSV answer)


_PATHS: Final[dict[str, str]] = {
    "01": "/n/atm/request",
    "02": "/n/card/request",
    "11": "/n/card/request",
    "18": "/n/card/request",
    "19": "/n/card/request",
    "28": "/n/card/request",
    "096": "/n/card/request",
    "03": "/n/conveni/request",
    "04": "/n/conveni/request_print",
    "05": "/n/bank/request",
    "06": "/n/bank/requestasp",
    "07": "/n/virtualaccount/request",
    "09": "/n/ref/request",
    "091": "/n/ref/paynotice",
    "093": "/n/ref/runnotice",
    "094": "/n/ref/paymentref",
    "095": "/n/ref/cardnoref",
    "10": "/n/c/request",
    "12": "/n/c/request",
    "15": "/n/emoney/request",
    "22": "/n/later/request",
    "26": "/n/accounttransfer/request",
    "263": "/n/accounttransfer/receipt",
    "264": "/n/accounttransfer/receipt",
    "265": "/n/accounttransfer/receipt",
    "27": "/n/rakutenid/request",
    "29": "/n/jcbpremo/request",
    "30": "/n/upop/request",
    "31": "/n/alipay/request",
    "32": "/n/applepay/request",
    "34": "/n/paidy/request",
    "35": "/n/googlepay/request",
    "38": "/n/illegal_detect/request",
    "41": "/n/pi/request",
    "42": "/n/paypay/request",
    "43": "/n/tokimekiPoint/request",
    "45": "/n/threeds/request",
    "20": "/n/o/requestdata",
}
UTF8_KINDS: Final = frozenset(
    {"098", "380", "410", "411", "412", "413", "414", "415", "416", "417", "418", "450"}
)
# Kinds whose answer is the quoted CSV of spec §1.3 rather than name=value lines.
CSV_KINDS: Final = frozenset({"027", "090"})
_KIND_PATTERN: Final = re.compile(r"[0-9A-Za-z]{3}")


@dataclass(frozen=True, slots=True)
class Credentials:
    """The common header's authentication fields (共通ヘッダ部)."""

    merchant_id: str
    connect_id: str
    connect_password: str

    def __repr__(self) -> str:
        return f"Credentials(merchant_id={self.merchant_id!r}, connect_id={self.connect_id!r})"


@dataclass(frozen=True, slots=True)
class EncodedTelegram:
    """A telegram ready to POST. Its `repr` never shows the body (it holds card data)."""

    kind: str
    path: str
    body: bytes
    content_type: str
    signature: str = ""  # `hc` in hash-check mode

    def __repr__(self) -> str:
        return f"EncodedTelegram(kind={self.kind!r}, path={self.path!r}, bytes={len(self.body)})"


def path_for(kind: str) -> str:
    """The URL path of `kind` (full kind first, then its two-character prefix).

    Raises ValueError for a malformed or unknown kind (the modules' ``E02003``).
    """
    if not _KIND_PATTERN.fullmatch(kind):
        raise ValueError(f"telegram kind must be three letters or digits, got {kind!r}")
    path = _PATHS.get(kind) or _PATHS.get(kind[:2])
    if path is None:
        raise ValueError(f"telegram {kind}: no URL is known for this kind")
    return path


def charset_for(kind: str) -> str:
    """``utf-8`` for the UTF-8 kinds, Windows-31J (cp932) for everything else."""
    return "utf-8" if kind in UTF8_KINDS else WINDOWS_31J


def header_fields(credentials: Credentials, kind: str) -> dict[str, str]:
    """The common header; `trading_id` and `payment_id` empty until the caller sets them."""
    return {
        "merchant_id": credentials.merchant_id,
        "connect_id": credentials.connect_id,
        "connect_password": credentials.connect_password,
        "telegram_kind": kind,
        "telegram_version": TELEGRAM_VERSION,
        "trading_id": "",
        "payment_id": "",
    }


def encode_telegram(credentials: Credentials, kind: str, fields: Fields) -> EncodedTelegram:
    """The header plus `fields` (None values left out) as a form body in the kind's charset.

    Raises ValueError naming the field (never its value) if a value cannot be written in the
    charset.
    """
    pairs = {**header_fields(credentials, kind), **_present(fields)}
    charset = charset_for(kind)
    body = encode_form(pairs.items(), charset, kind)
    content_type = (
        f"{FORM_CONTENT_TYPE}; charset={'UTF-8' if charset == 'utf-8' else 'Windows-31J'}"
    )
    return EncodedTelegram(kind=kind, path=path_for(kind), body=body, content_type=content_type)


HASH_CHECK_PREFIX: Final = "/s/"
# The follow-ups that must name their payment by payment_id in hash-check mode (void, cancel,
# carrier). Capture (022) and the corrections (028/029) may name it by trading_id alone, as
# PAYGENT's WooCommerce plugin does.
BY_PAYMENT_ID_WHEN_SIGNED: Final = frozenset({"021", "023", "101", "102", "103"})


def telegram_hash(fields: Mapping[str, str], key: str) -> str:
    """`hc` of the telegram hash check (`/s/…`): SHA-256, in hex, of ``merchant_id + connect_id +
    connect_password + telegram_kind + telegram_version + trading_id + payment_id + (payment_amount
    or amount) + request_date + key``, each part as sent ("" when not sent)."""
    amount = fields.get("payment_amount") or fields.get("amount", "")
    names = ("merchant_id", "connect_id", "connect_password", "telegram_kind", "telegram_version")
    parts = [fields[name] for name in names]
    parts += [fields.get("trading_id", ""), fields.get("payment_id", ""), amount]
    parts += [fields["request_date"], key]
    return hashlib.sha256("".join(parts).encode("ascii")).hexdigest()


def encode_signed_telegram(
    credentials: Credentials, kind: str, fields: Fields, *, key: str, request_date: str
) -> EncodedTelegram:
    """The telegram for `/s/…`: `fields` plus `request_date` (YYYYMMDDhhmmss, Japan time) and
    `hc`. Raises ValueError for what the gateway would refuse: a follow-up that changes a payment
    without its payment_id where the gateway needs one, a signed value that is not ASCII."""
    present = _present(fields)
    if kind in BY_PAYMENT_ID_WHEN_SIGNED and not present.get("payment_id"):
        raise ValueError(f"telegram {kind}: the hash-check mode names the payment by payment_id")
    pairs = {**header_fields(credentials, kind), **present, "request_date": request_date}
    try:
        pairs["hc"] = telegram_hash(pairs, key)
    except UnicodeEncodeError:
        raise ValueError(f"telegram {kind}: a signed field is not ASCII") from None
    plain = encode_telegram(credentials, kind, {})  # the path and content type
    body = encode_form(pairs.items(), charset_for(kind), kind)
    path = HASH_CHECK_PREFIX + plain.path.removeprefix("/n/")
    return EncodedTelegram(
        kind=kind, path=path, body=body, content_type=plain.content_type, signature=pairs["hc"]
    )


def encode_form(pairs: Iterable[tuple[str, str]], charset: str, kind: str) -> bytes:
    """``name=value&…`` with each value's `charset` bytes percent-encoded (space → ``+``)."""
    encoded = (
        f"{_quote(name, name, charset, kind)}={_quote(name, value, charset, kind)}"
        for name, value in pairs
    )
    return "&".join(encoded).encode("ascii")


def _quote(name: str, value: str, charset: str, kind: str) -> str:
    try:
        raw = value.encode(charset)
    except UnicodeEncodeError:
        raise ValueError(
            f"telegram {kind}: field {name!r} has characters that {charset} cannot encode"
        ) from None
    return urllib.parse.quote_plus(raw, safe="")


def _present(fields: Fields) -> dict[str, str]:
    return {name: _text(value) for name, value in fields.items() if value is not None}


def _text(value: FieldValue) -> str:
    if isinstance(value, bool):
        # bool is an int; "True" is never what a PAYGENT flag field means.
        return "1" if value else "0"
    return str(value)
