"""Request decoding for the module-type face: form-encoded bytes in, parameter names and values out.

Merchants' clients disagree on where and how they send parameters (spec §1.2, §6 items 2–3):
the PHP and Java modules post a Windows-31J form body, the Ruby gems post an empty body with
everything in the query string, the Java module declares `charset=utf-8` for the UTF-8 telegram
kinds, and an old Java build appends CRLFs after the body. `decode_request` accepts all of them
and gives one `dict[str, str]`.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from kessai.kit.errors import InvalidRequest

# The official modules refuse requests over 100 KB locally (E02002); we refuse them too.
MAX_REQUEST_BYTES = 102_400
# …and 10 MB for the file payment telegram (200), whose `data` is a whole file.
MAX_FILE_REQUEST_BYTES = 10 * 1024 * 1024
FILE_REQUEST_PATHS = ("/n/o/requestdata", "/s/o/requestdata")
# Parameters kept as their bytes (decoded as latin-1, which maps every byte to one character):
# the file of a 200 may be Windows-31J or UTF-8 with a BOM whatever the form's charset.
_BYTES_PARAMETERS = {"200": frozenset({"data"})}

# `paygentB2Bmodule.telegram_kind.utf8` of the official modules (§1.1).
UTF8_TELEGRAM_KINDS = frozenset({"098", "380", *(str(kind) for kind in range(410, 419)), "450"})

DEFAULT_CHARSET = "cp932"  # Windows-31J, which is what "Shift_JIS" means in PAYGENT's documents
UTF8 = "utf-8"
EUC_JP = "euc_jp"

# The link type chooses its charset by path (§2.1); the module type never uses these paths.
_UTF8_PATH_PREFIXES = ("/v/u/", "/m/u/")
_EUC_JP_PATH_PREFIXES = ("/v/e/", "/m/e/")
_UTF8_NAMES = frozenset({"utf-8", "utf8"})

RawPairs = list[tuple[bytes, bytes]]


def decode_request(
    *,
    body: bytes,
    query: bytes,
    content_type: str | None,
    path: str,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> dict[str, str]:
    """The request's parameters, from the form body and the query string.

    The body wins over the query string on a clash and, within one source, the first occurrence
    of a name wins. Values are not stripped. Raises `InvalidRequest("P009", field="request")`
    when body and query together exceed `max_bytes`, and `InvalidRequest("P010", field=<name>)`
    when a name or value does not decode in the request's charset (`request_charset`).
    """
    body = body.rstrip(b"\r\n")  # an old Java module appends CRLFs after the body
    if len(body) + len(query) > max_bytes:
        raise InvalidRequest("P009", field="request")
    pairs = parse_pairs(body) + parse_pairs(query)
    kind = _peek_kind(pairs)
    charset = request_charset(content_type=content_type, path=path, telegram_kind=kind)
    return _decode_pairs(pairs, charset, _BYTES_PARAMETERS.get(kind, frozenset()))


def max_request_bytes(path: str) -> int:
    """The largest request `path` takes: 10 MB for file payment, 100 KB for every other kind."""
    return MAX_FILE_REQUEST_BYTES if path.rstrip("/") in FILE_REQUEST_PATHS else MAX_REQUEST_BYTES


def parse_pairs(data: bytes) -> RawPairs:
    """`name=value&…` split and percent-decoded to bytes; `+` is a space, a bare name is ""."""
    pairs: RawPairs = []
    for chunk in data.split(b"&"):
        raw_name, _, raw_value = chunk.partition(b"=")
        name = _unquote(raw_name)
        if name:
            pairs.append((name, _unquote(raw_value)))
    return pairs


def _unquote(data: bytes) -> bytes:
    return unquote_to_bytes(data.replace(b"+", b" "))


def _peek_kind(pairs: RawPairs) -> str:
    """The first `telegram_kind`, enough to choose a charset (kinds are ASCII digits)."""
    for name, value in pairs:
        if name == b"telegram_kind":
            return value.decode("ascii", errors="replace")
    return ""


def request_charset(*, content_type: str | None, path: str, telegram_kind: str) -> str:
    """The Python codec of a request: UTF-8 on any UTF-8 sign, EUC-JP on `/v/e/`, else cp932."""
    if (
        _declared_charset(content_type) in _UTF8_NAMES
        or path.startswith(_UTF8_PATH_PREFIXES)
        or telegram_kind in UTF8_TELEGRAM_KINDS
    ):
        return UTF8
    if path.startswith(_EUC_JP_PATH_PREFIXES):
        return EUC_JP
    return DEFAULT_CHARSET


def charset_for_kind(telegram_kind: str) -> str:
    """The Python codec a telegram kind's response is written in."""
    return UTF8 if telegram_kind in UTF8_TELEGRAM_KINDS else DEFAULT_CHARSET


def _declared_charset(content_type: str | None) -> str | None:
    """The lower-cased `charset=` parameter of a Content-Type, if any."""
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _decode_pairs(
    pairs: RawPairs, charset: str, as_bytes: frozenset[str] = frozenset()
) -> dict[str, str]:
    fields: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name = _decode(raw_name, charset, raw_name.decode(charset, errors="replace"))
        if name not in fields:  # first wins; a later duplicate is not even decoded
            codec = "latin-1" if name in as_bytes else charset
            fields[name] = _decode(raw_value, codec, name)
    return fields


def _decode(data: bytes, charset: str, field: str) -> str:
    try:
        return data.decode(charset)
    except UnicodeDecodeError:
        raise InvalidRequest("P010", field=field) from None
