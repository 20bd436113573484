"""The link request's parameters (§2.2): checked one by one, with the protocol's codes.

Each rule names a field, its kind and its size; a request breaking one answers P008 (type), P009
(size) or P010 (value) for that field and creates nothing. Unknown fields are ignored, as the
protocol does not say they are refused.

Signed fields come first: each has one canonical form (`CANONICAL`), checked before the signature,
and anything else is 6005 — `seq_merchant_id=000041001` or a full-width digit never reaches the
hash, so characters cannot be moved between signed fields by padding one of them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from kessai.kit.errors import InvalidRequest

# The methods the hosted page offers (PRODUCT.md §2), in the order the page lists them.
LINK_METHODS = ("02", "03", "01", "05", "06")
# The editable buyer fields a merchant may fix (fix_params), deferred-payment ones aside.
FIXABLE = frozenset(
    {
        "customer_family_name",
        "customer_name",
        "customer_family_name_kana",
        "customer_name_kana",
        "customer_tel",
        "customer_info",
        "ship_info",
    }
)
CARD_MAX_AMOUNT = 9_999_999  # `id` is 7 digits for cards
# Every payment_type code of §2.2 (the page offers LINK_METHODS of them; the rest answer P007).
KNOWN_CODES = ("01", "02", "03", "05", "06", "07", "11", "15", "17", "26")


def _list_of(names: Iterable[str]) -> str:
    """A regex of a comma list of `names` (that none comes twice is `_canonical`'s check)."""
    one = "|".join(sorted(names))
    return f"(?:{one})(?:,(?:{one}))*"


# The one form of each signed value (ASCII only: re.ASCII). Numbers have no sign and no leading
# zero; flags are their documented values; lists are known names joined by single commas; free
# values have no control characters (the hmac message is one line per value).
CANONICAL: dict[str, str] = {
    "trading_id": r"[0-9A-Za-z_]{1,25}",
    "payment_type": _list_of(KNOWN_CODES),
    "fix_params": _list_of(FIXABLE),
    "id": r"0|[1-9][0-9]{0,8}",
    "seq_merchant_id": r"[1-9][0-9]{0,8}",
    "payment_term_day": r"0|[1-9][0-9]?",
    "payment_term_min": r"[1-9][0-9]{0,3}",
    "payment_class": r"[012]",
    "use_card_conf_number": r"[01]",
    "customer_id": r"[0-9A-Za-z_\-]{1,20}",
    "threedsecure_ryaku": r"[01]",
    "stock_card_mode": r"[012]",
    "sales_flg": r"[01]",
    "finish_disable": r"[01]",
    "site_id": r"[0-9A-Za-z]{1,4}",
    "return_url": r"[!-~]+",  # what a URL is: check_fields, P008
    "stop_return_url": r"[!-~]+",
    # Where the payment's notices go (core.notifications.outbox): a URL whatever the scheme, so on
    # `paygent` it starts with `http` and no digit of `id` or `seq_merchant_id` can join it.
    "inform_url": r"(?=[!-~]{1,256}\Z)https?://[!-~]+",
}
URL_FIELDS = ("return_url", "stop_return_url", "banner_url", "inform_url")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str  # the characters allowed (regex of one value)
    size: int  # at most this many characters
    type_code: str = "P008"


_DIGITS = r"[0-9]+"
_ALNUM_ = r"[0-9A-Za-z_]+"
_FLAG = r"[01]"
_URL = r"https?://[!-~]+"
_KANA = r"[ァ-ヶーｦ-ﾟ　 ・]+"
_TEXT = r"[^\x00-\x1f\x7f]+"

RULES: dict[str, Rule] = {
    "trading_id": Rule(_ALNUM_, 25),
    "payment_type": Rule(r"[0-9]{2}(,[0-9]{2})*", 32),
    "fix_params": Rule(r"[a-z_]+(,[a-z_]+)*", 256),
    "id": Rule(_DIGITS, 9),
    "hc": Rule(r"[0-9A-Za-z]+", 84),
    "seq_merchant_id": Rule(_DIGITS, 9),
    "merchant_name": Rule(_TEXT, 64),
    "payment_detail": Rule(_TEXT, 24),
    "payment_detail_kana": Rule(_KANA, 24),
    "payment_term_day": Rule(_DIGITS, 2),
    "payment_term_min": Rule(_DIGITS, 4),
    "banner_url": Rule(_URL, 256),
    "free_memo": Rule(r"[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f]+", 256),
    "return_url": Rule(_URL, 256),
    "stop_return_url": Rule(_URL, 256),
    "inform_url": Rule(_URL, 256),
    "copy_right": Rule(_TEXT, 256),
    "customer_family_name": Rule(_TEXT, 12),
    "customer_name": Rule(_TEXT, 12),
    "customer_family_name_kana": Rule(_KANA, 12),
    "customer_name_kana": Rule(_KANA, 12),
    "isbtob": Rule(_FLAG, 1),
    "site_id": Rule(r"[0-9A-Za-z]+", 4),
    "company_name": Rule(_TEXT, 100),
    "finish_disable": Rule(_FLAG, 1),
    "mail_send_flg_success": Rule(_FLAG, 1),
    "mail_send_flg_failure": Rule(_FLAG, 1),
    "payment_class": Rule(r"[012]", 1),
    "use_card_conf_number": Rule(_FLAG, 1),
    "stock_card_mode": Rule(r"[012]", 1),
    "customer_id": Rule(r"[0-9A-Za-z_\-]+", 20),
    "threedsecure_ryaku": Rule(_FLAG, 1),
    "sales_flg": Rule(_FLAG, 1),
    "appendix": Rule(_FLAG, 1),
    "re_payment_type": Rule(_FLAG, 1),
    "customer_tel": Rule(_DIGITS, 11),
    "language_code": Rule(r"[a-z]{2}", 2),
    "currency_code": Rule(r"[A-Z]{3}", 3),
    **{f"customer_notice_{n}": Rule(_TEXT, 60) for n in range(1, 11)},
}


def check_canonical(fields: Mapping[str, str], names: Iterable[str]) -> None:
    """6005 unless each signed value (of `names`) present is in its one canonical form."""
    for name in names:
        value = fields.get(name, "")
        if value and not _canonical(name, value):
            raise InvalidRequest("6005", field=name)


def _canonical(name: str, value: str) -> bool:
    if not re.fullmatch(CANONICAL[name], value, re.ASCII):
        return False
    if name in ("payment_type", "fix_params"):
        parts = value.split(",")
        return len(parts) == len(set(parts))  # no name twice
    if name == "inform_url":
        return url_host(value) is not None
    return True


def url_host(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an absolute http(s) URL whose authority is only a host name or IP
    address and an optional port (no user part, no `;`, `,` or quote); None for anything else.
    Pages put the origin of such URLs in their Content-Security-Policy (web.link.render)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number 0–65535
        return None
    host = parts.hostname or ""
    if _is_ipv6(host):
        host = f"[{ipaddress.IPv6Address(host).compressed}]"
    elif not _HOST.fullmatch(host):
        return None
    authority = host + (f":{port}" if port is not None else "")
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != authority.lower():
        return None  # another scheme, a user part, or a port written otherwise (":", ":08")
    return parts.scheme, host.lower(), port


def _is_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def check_fields(fields: Mapping[str, str]) -> None:
    """Every known field's kind and size; then the rules between fields."""
    for name, value in fields.items():
        check_field(name, value)
    _check_required(fields)
    _check_relations(fields)


def check_field(name: str, value: str) -> None:
    """One field's kind and size (empty values and unknown fields pass)."""
    rule = RULES.get(name)
    if rule is None or value == "":
        return
    if len(value) > rule.size:
        raise InvalidRequest("P009", field=name)
    if not re.fullmatch(rule.pattern, value):
        raise InvalidRequest(rule.type_code, field=name)
    if name in URL_FIELDS and url_host(value) is None:
        raise InvalidRequest(rule.type_code, field=name)


def _check_required(fields: Mapping[str, str]) -> None:
    for name in ("trading_id", "id", "seq_merchant_id"):
        if name not in fields:
            raise InvalidRequest("P005", field=name)
        if not fields[name]:
            raise InvalidRequest("P006", field=name)
    if int(fields["id"]) <= 0:
        raise InvalidRequest("P014", field="id")


def _check_relations(fields: Mapping[str, str]) -> None:
    day, minutes = fields.get("payment_term_day", ""), fields.get("payment_term_min", "")
    if day and minutes:
        raise InvalidRequest("P010", field="payment_term_min")
    if day and not 0 <= int(day) <= 60:
        raise InvalidRequest("P010", field="payment_term_day")
    if minutes and not 5 <= int(minutes) <= 2880:
        raise InvalidRequest("P010", field="payment_term_min")
    if fields.get("finish_disable") == "1" and not fields.get("return_url"):
        raise InvalidRequest("P005", field="return_url")
    if fields.get("stock_card_mode") in ("1", "2") and not fields.get("customer_id"):
        raise InvalidRequest("P005", field="customer_id")
    if fields.get("currency_code", "JPY") != "JPY":
        raise InvalidRequest("P010", field="currency_code")  # yen only (multi-currency is /m/)
    for name in _split(fields.get("fix_params", "")):
        if name not in FIXABLE:
            raise InvalidRequest("P010", field="fix_params")


def offered_methods(fields: Mapping[str, str], contracted: list[str]) -> tuple[str, ...]:
    """The methods the page offers: those asked for (all contracted when absent) that the link type
    has and the merchant may use. ATM and CVS need a deadline in days, cards a 7-digit amount.
    P007 when a method asked for is not available, or when nothing is left."""
    asked = _split(fields.get("payment_type", ""))
    for code in asked:
        if code not in LINK_METHODS or code not in contracted:
            raise InvalidRequest("P007", field="payment_type")
    wanted = set(asked) if asked else set(contracted)
    if fields.get("payment_term_min"):
        wanted -= {"01", "03"}  # a deadline in minutes: no ATM, no CVS (§2.2 #11)
    if int(fields["id"]) > CARD_MAX_AMOUNT:
        wanted.discard("02")
    offered = tuple(code for code in LINK_METHODS if code in wanted)
    if not offered:
        raise InvalidRequest("P007", field="payment_type")
    return offered


def check_fixed_names(fields: Mapping[str, str], offered: tuple[str, ...]) -> None:
    """Buyer names the merchant fixed must be given when CVS is offered (§2.2 #17–20)."""
    if "03" not in offered:
        return
    for name in _split(fields.get("fix_params", "")):
        if name.startswith("customer_") and name in RULES and not fields.get(name):
            raise InvalidRequest("P005", field=name)


def _split(value: str) -> list[str]:
    return [part for part in value.split(",") if part]
