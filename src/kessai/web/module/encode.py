"""Response encoding for the module-type face (spec §1.3): `name=value` lines and the reference CSV.

The layout is chosen so that every known client parses it (§6 item 5): the PHP and Java modules
split on CRLF at the first `=` and swallow everything after a `*_html=` line into that field;
gomerchant matches `key=value(CRLF|$)`; the Ruby gems only see a field preceded by LF and followed
by CR. Hence: a leading CRLF, `result` first, every line ending in CRLF, no CR/LF inside a value,
`*_html` fields last with their HTML starting on the next line. Values are raw text: clients do
not URL-decode responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kessai.web.module.codec import DEFAULT_CHARSET, UTF8

CRLF = "\r\n"
_HEAD_FIELDS = ("result", "response_code", "response_detail")
_HTML_SUFFIX = "_html"

CONTENT_TYPES = {
    DEFAULT_CHARSET: "text/html; charset=Windows-31J",
    # gomerchant looks for exactly `charset=UTF-8`.
    UTF8: "text/html; charset=UTF-8",
}


def content_type(charset: str = DEFAULT_CHARSET) -> str:
    """The response Content-Type for a body written in `charset` (a Python codec name)."""
    return CONTENT_TYPES[charset]


def encode_response(fields: Sequence[tuple[str, str]], *, charset: str = DEFAULT_CHARSET) -> bytes:
    """The body of a key=value reply.

    `result` is written first, then `response_code` and `response_detail` (added empty when
    missing: every documented field is always present), then the other fields in the given
    order, then the `*_html` fields. Characters `charset` cannot carry become `?`. A repeated
    name keeps its first value for the head fields. Raises ValueError without `result` or on a
    name a client could not parse back.
    """
    head, plain, html = _arrange(fields)
    lines = [""]  # the leading CRLF lets the Ruby gems' regex see `result`
    lines += [f"{name}={_one_line(value)}" for name, value in head + plain]
    for name, value in html:
        lines.append(f"{name}=")
        lines += [value.rstrip(CRLF)] if value else []
    return (CRLF.join(lines) + CRLF).encode(charset, errors="replace")


Fields = list[tuple[str, str]]


def _arrange(fields: Sequence[tuple[str, str]]) -> tuple[Fields, Fields, Fields]:
    """The fields in wire order: the result head, the plain fields, the `*_html` fields."""
    first: dict[str, str] = {}
    for name, value in fields:
        _check_name(name)
        first.setdefault(name, value)
    if "result" not in first:
        raise ValueError("a telegram response needs a result field")
    head = [(name, first.get(name, "")) for name in _HEAD_FIELDS]
    rest = [(name, value) for name, value in fields if name not in _HEAD_FIELDS]
    plain = [(name, value) for name, value in rest if not _is_html(name)]
    return head, plain, [(name, value) for name, value in rest if _is_html(name)]


def encode_response_utf8(fields: Sequence[tuple[str, str]]) -> bytes:
    """`encode_response` for the UTF-8 telegram kinds (098, 380, 410–418, 450)."""
    return encode_response(fields, charset=UTF8)


def _is_html(name: str) -> bool:
    return name.endswith(_HTML_SUFFIX)


def _check_name(name: str) -> None:
    if not name or any(char in name for char in "=\r\n"):
        raise ValueError(f"response field name {name!r} cannot be parsed back")


def _one_line(value: str) -> str:
    """A value on one line: line parsers would take the rest for a new field."""
    return value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def success_fields(names: Sequence[str], values: Mapping[str, str]) -> list[tuple[str, str]]:
    """`result=0` and each documented field in `names`, empty where `values` has nothing."""
    head = [("result", "0"), ("response_code", ""), ("response_detail", "")]
    return head + [(name, values.get(name, "")) for name in names]


def error_fields(code: str, detail: str, empty: Sequence[str] = ()) -> list[tuple[str, str]]:
    """`result=1` with the code and detail, and each name in `empty` present with an empty value."""
    head = [("result", "1"), ("response_code", code), ("response_detail", detail)]
    return head + [(name, "") for name in empty]


def encode_csv_response(
    *,
    result: str,
    response_code: str,
    response_detail: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
) -> bytes:
    """The quoted CSV of reference telegrams (027): "1" head, "2" columns, "3" rows, "4" count.

    Rows are written only when `result` is "0" and there are some; otherwise the reply is the
    "1" and "4" records with a count of 0, as PAYGENT answers errors. Raises ValueError when a
    row's width differs from `columns` (the PHP module fails such a reply with E01901).
    """
    records = [["1", result, response_code, response_detail]]
    data = rows if result == "0" else ()
    if data:
        _check_widths(columns, data)
        records.append(["2", *columns])
        records += [["3", *row] for row in data]
    records.append(["4", str(len(data))])
    text = "".join(",".join(_quote(value) for value in record) + CRLF for record in records)
    return text.encode(DEFAULT_CHARSET, errors="replace")


def _check_widths(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    for index, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"CSV row {index} has {len(row)} values for {len(columns)} columns")


def _quote(value: str) -> str:
    """A CSV field: quoted, `"` doubled, on one line (the PHP module splits on CRLF first)."""
    return '"' + _one_line(value).replace('"', '""') + '"'
