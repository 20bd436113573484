"""Reading a telegram's answer, exactly as PAYGENT's connect module reads it (spec §1.3).

Default form: the body is split on CRLF; each line splits at its **first** ``=``; ``result``,
``response_code`` and ``response_detail`` are taken out, every other pair goes into one record;
lines without ``=`` (blank ones included) are ignored. From the first key ending in ``_html`` on,
the rest of the body (every following line, whatever it contains) is that key's value, and the text
after ``=`` on its own line is ignored. No ``result`` → error. Values are literal (never
URL-decoded).

File result form (201): records on CRLF lines, fields **not** quoted; record ``1``'s 7th–9th fields
are result/code/detail, ``3`` one line's outcome each, ``4`` their count.

CSV form (027): records on CRLF lines, fields in double quotes with ``""`` for a quote; record type
``1`` carries result/code/detail, ``2`` the column names, ``3`` one row each (same column count as
``2``), ``4`` the row count.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Final

from kessai.client._errors import ProtocolError

CRLF: Final = "\r\n"
HTML_SUFFIX: Final = "_html"
_RESULT_KEYS: Final = ("result", "response_code", "response_detail")


@dataclass(frozen=True, slots=True)
class ParsedBody:
    """An answer's result triple and its record (every other field)."""

    result: str
    response_code: str
    response_detail: str
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class ParsedTable:
    """A CSV answer: the result triple, the column names, and the rows (column → value)."""

    result: str
    response_code: str
    response_detail: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]


def decode_body(content: bytes, content_type: str | None) -> str:
    """Text of an answer: UTF-8 when the Content-Type says so, Windows-31J otherwise.

    Undecodable bytes become U+FFFD rather than an error: an answer whose ``payment_id`` is readable
    must not be lost over one odd byte in, say, ``acq_name``.
    """
    charset = "utf-8" if content_type and "charset=utf-8" in content_type.lower() else "cp932"
    return content.decode(charset, errors="replace")


def parse_key_values(text: str, *, kind: str) -> ParsedBody:
    """Parse the default ``name=value`` form. Raises ProtocolError when ``result`` is missing."""
    pairs, html = _split_html(text)
    fields: dict[str, str] = {}
    for line in pairs.split(CRLF):
        name, sep, value = line.partition("=")
        if sep:
            fields[name] = value
    if html is not None:
        fields[html[0]] = html[1]
    return _with_result(fields, kind)


def parse_csv(text: str, *, kind: str) -> ParsedTable:
    """Parse the quoted CSV form. Raises ProtocolError for a missing header or trailer record, a
    missing ``result``, a row whose column count differs from the column names, or a wrong count."""
    records = _csv_records(text, kind)
    header = _record(records, "1", kind)
    trailer = _record(records, "4", kind)
    columns = tuple(_record(records, "2", kind)[1:]) if _has(records, "2") else ()
    rows = tuple(_row(columns, record[1:], kind) for record in records if record[:1] == ["3"])
    if trailer[1:2] != [str(len(rows))]:
        raise ProtocolError("CSV trailer count does not match the rows received", kind=kind)
    result, code, detail = [*header[1:], "", "", ""][:3]
    if not result:
        raise ProtocolError("the answer has no result", kind=kind)
    return ParsedTable(result, code, detail, columns, rows)


def _split_html(text: str) -> tuple[str, tuple[str, str] | None]:
    """Cut the body at the first ``*_html`` key: (text before, (key, rest of the body) or None)."""
    offset = 0
    for line in text.split(CRLF):
        name = line.partition("=")[0]
        end = offset + len(line)
        if name.endswith(HTML_SUFFIX):
            rest = text[end + len(CRLF) :]
            return text[:offset], (name, rest.removesuffix(CRLF))
        offset = end + len(CRLF)
    return text, None


def _with_result(fields: dict[str, str], kind: str) -> ParsedBody:
    result, code, detail = (fields.pop(key, "") for key in _RESULT_KEYS)
    if not result:
        raise ProtocolError("the answer has no result", kind=kind)
    return ParsedBody(result=result, response_code=code, response_detail=detail, fields=fields)


def _csv_records(text: str, kind: str) -> list[list[str]]:
    try:
        return list(csv.reader((line for line in text.split(CRLF) if line), strict=True))
    except csv.Error:
        raise ProtocolError("the CSV answer is malformed", kind=kind) from None


def _has(records: list[list[str]], record_type: str) -> bool:
    return any(record[:1] == [record_type] for record in records)


def _record(records: list[list[str]], record_type: str, kind: str) -> list[str]:
    for record in records:
        if record[:1] == [record_type]:
            return record
    raise ProtocolError(f"CSV answer has no record of type {record_type}", kind=kind)


def _row(columns: tuple[str, ...], values: list[str], kind: str) -> dict[str, str]:
    if len(values) != len(columns):
        raise ProtocolError(
            f"CSV row has {len(values)} columns, the column names {len(columns)}", kind=kind
        )
    return dict(zip(columns, values, strict=True))


def parse_file_result(text: str, *, kind: str) -> tuple[ParsedBody, list[list[str]]]:
    """The 201 answer: the header's result triple (7th–9th fields) and the data records' fields
    after the record type. Raises ProtocolError for a missing header or trailer, or a bad count."""
    records = [line.split(",") for line in text.split(CRLF) if line]
    header = _record(records, "1", kind)
    trailer = _record(records, "4", kind)
    data = [record[1:] for record in records if record[:1] == ["3"]]
    if trailer[1:2] != [str(len(data))]:
        raise ProtocolError("result file trailer count does not match its records", kind=kind)
    result, code, detail = [*header[6:9], "", "", ""][:3]
    if not result:
        raise ProtocolError("the answer has no result", kind=kind)
    return ParsedBody(result, code, detail, {}), data
