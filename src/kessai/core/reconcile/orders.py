"""Reading a merchant's order list (注文一覧): a CSV in CP932 or UTF-8 (with or without BOM) whose
header row names at least the 取引ID and amount columns. `sniff` guesses the encoding and the
columns from the file's first bytes; `read_orders` streams the lines one at a time, so a file of a
million lines is never held in memory, and refuses a bad line by its number and column."""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from kessai.kit.errors import InvalidRequest

# Header names recognised per column, compared after `_normalise` (NFKC, lower case, no spaces,
# underscores or hyphens).
TRADING_ID_NAMES = (
    "取引id",
    "tradingid",
    "注文番号",
    "注文id",
    "受注id",
    "受注番号",
    "オーダーid",
    "オーダー番号",
    "orderid",
    "ordernumber",
    "orderno",
)
AMOUNT_NAMES = ("金額", "請求額", "請求金額", "決済金額", "注文金額", "合計金額", "amount", "total")
EXPECTED_DATE_NAMES = (
    "入金予定日",
    "支払期限",
    "支払期限日",
    "支払予定日",
    "予定日",
    "expecteddate",
    "duedate",
)
METHOD_NAMES = ("決済方法", "支払方法", "決済種別", "支払手段", "method", "paymentmethod")

TRADING_ID_MAX = 25  # payments.trading_id: a longer one can never match a payment
METHOD_MAX = 32
AMOUNT_MAX = 9_999_999_999
SAMPLE_LINES = 5
ENCODINGS = ("utf-8-sig", "utf-8", "cp932")


@dataclass(frozen=True)
class ColumnMap:
    """Which header names hold the order's fields."""

    trading_id: str
    amount: str
    expected_date: str | None = None
    method: str | None = None


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes of a file say: its encoding, its header's names, the columns guessed
    from them (None when the 取引ID or amount column cannot be told; the user maps them)."""

    encoding: str
    columns: list[str]
    guessed: ColumnMap | None
    # The first lines after the header, as cells: what a column-mapping form shows.
    sample: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Order:
    """One line of the order list. `line_no`: the file's line (the header is line 1)."""

    line_no: int
    trading_id: str
    amount: int
    expected_date: date | None
    method: str | None


def sniff(head: bytes) -> Sniffed:
    """The encoding and columns of a file starting with `head` (its first few kilobytes)."""
    encoding = _encoding_of(head)
    text = _decode_head(head, encoding, errors="replace")
    lines = text.splitlines()[: SAMPLE_LINES + 1]
    rows = list(csv.reader(lines))
    columns = [_header_name(name) for name in rows[0]] if rows else []
    sample = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    return Sniffed(encoding, columns, guess_columns(columns), sample)


def guess_columns(columns: list[str]) -> ColumnMap | None:
    """The columns whose names are ones Kessai recognises; None without a 取引ID and an amount."""
    trading_id = _find(columns, TRADING_ID_NAMES)
    amount = _find(columns, AMOUNT_NAMES)
    if trading_id is None or amount is None:
        return None
    return ColumnMap(
        trading_id=trading_id,
        amount=amount,
        expected_date=_find(columns, EXPECTED_DATE_NAMES),
        method=_find(columns, METHOD_NAMES),
    )


def read_orders(stream: BinaryIO, columns: ColumnMap, encoding: str) -> Iterator[Order]:
    """The order lines of `stream`, one at a time. A line Kessai cannot read raises InvalidRequest
    naming the line and the column; lines that are wholly empty are skipped."""
    if encoding not in ENCODINGS:
        raise InvalidRequest(
            field="encoding", message=f"文字コード {encoding} には対応していません。"
        )
    reader = csv.reader(_decoded_lines(stream, encoding))
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidRequest(field="file", message="ファイルが空です（見出し行がありません）。")
        positions = _positions([_header_name(name) for name in header], columns)
        for record in reader:
            if any(cell.strip() for cell in record):
                yield _order(record, reader.line_num, positions, columns)
    except csv.Error as error:
        raise InvalidRequest(
            field="file", message=f"{reader.line_num}行目: CSVとして読めません（{error}）。"
        ) from error


def _decoded_lines(stream: BinaryIO, encoding: str) -> Iterator[str]:
    """The file's lines as text, decoded one at a time so that bytes the encoding cannot read are
    refused with their own line's number (a newline byte is never part of a CP932 or UTF-8
    character, so lines split before decoding)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    for line_no, raw in enumerate(stream, start=1):
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError as error:
            raise InvalidRequest(
                field="file",
                message=f"{line_no}行目: 文字コード {encoding} として読めません（{error.reason}）。",
            ) from error


@dataclass(frozen=True, slots=True)
class _Positions:
    trading_id: int
    amount: int
    expected_date: int | None
    method: int | None


def _positions(header: list[str], columns: ColumnMap) -> _Positions:
    def position(name: str | None) -> int | None:
        if name is None:
            return None
        if name not in header:
            raise InvalidRequest(
                field="columns", message=f"1行目: 列「{name}」が見出し行にありません。"
            )
        return header.index(name)

    trading_id = position(columns.trading_id)
    amount = position(columns.amount)
    assert trading_id is not None and amount is not None
    return _Positions(trading_id, amount, position(columns.expected_date), position(columns.method))


def _order(record: list[str], line_no: int, at: _Positions, columns: ColumnMap) -> Order:
    def cell(index: int | None) -> str:
        if index is None or index >= len(record):
            return ""
        return record[index].strip()

    def bad(column: str, why: str) -> InvalidRequest:
        return InvalidRequest(field=column, message=f"{line_no}行目「{column}」: {why}")

    trading_id = cell(at.trading_id)
    if not trading_id:
        raise bad(columns.trading_id, "取引IDがありません。")
    if len(trading_id) > TRADING_ID_MAX:
        raise bad(columns.trading_id, f"取引IDは{TRADING_ID_MAX}文字以内です。")
    amount = parse_amount(cell(at.amount))
    if amount is None:
        raise bad(columns.amount, f"金額「{cell(at.amount)}」は0以上の整数（円）ではありません。")
    expected: date | None = None
    if columns.expected_date is not None and cell(at.expected_date):
        expected = parse_date(cell(at.expected_date))
        if expected is None:
            why = f"日付「{cell(at.expected_date)}」は YYYY-MM-DD か YYYY/MM/DD ではありません。"
            raise bad(columns.expected_date, why)
    method = cell(at.method) or None
    if method is not None and len(method) > METHOD_MAX:
        raise bad(columns.method or "", f"決済方法は{METHOD_MAX}文字以内です。")
    return Order(line_no, trading_id, amount, expected, method)


_AMOUNT = re.compile(r"[0-9]{1,10}")
_DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})|([0-9]{4})([0-9]{2})([0-9]{2})")


def parse_amount(raw: str) -> int | None:
    """Yen as Excel writes them: `12000`, `12,000`, `¥12,000`, `12,000円` (full-width too)."""
    text = unicodedata.normalize("NFKC", raw).strip().lstrip("¥\\").removesuffix("円")
    text = text.replace(",", "").strip()
    if not _AMOUNT.fullmatch(text):
        return None
    value = int(text)
    return value if value <= AMOUNT_MAX else None


def parse_date(raw: str) -> date | None:
    """`2026-12-05`, `2026/12/5` or `20261205`; None for anything else."""
    found = _DATE.fullmatch(unicodedata.normalize("NFKC", raw).strip())
    if found is None:
        return None
    parts = [int(p) for p in found.groups() if p is not None]
    try:
        return date(parts[0], parts[1], parts[2])
    except ValueError:
        return None


def _encoding_of(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        _decode_head(head, "utf-8")
    except UnicodeDecodeError:
        return "cp932"
    return "utf-8"


def _decode_head(head: bytes, encoding: str, errors: str = "strict") -> str:
    """`head` decoded; a character cut off at the end of the sample is not an error."""
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    return decoder.decode(head, final=False)


def _header_name(name: str) -> str:
    """A header cell as a name: without the spaces around it, nor a BOM a file read as plain
    UTF-8 leaves in the first one."""
    return name.strip().lstrip("\ufeff").strip()


def _normalise(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).lower()
    return re.sub(r"[\s_\-・]", "", text)


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    wanted = {_normalise(name) for name in names}
    return next((column for column in columns if _normalise(column) in wanted), None)
