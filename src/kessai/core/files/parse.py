"""Reading a submitted file: Windows-31J (or UTF-8 with a BOM) CSV whose first line names the
columns with the telegram's own field names, one request per further line.

A file is refused as a whole (9101) at the first problem, with its line number and the reason,
before anything is stored or run. Reasons name columns, never values: a value may be a card number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from kessai.core.files.layout import FileLayout
from kessai.kit.errors import KessaiError

_BOM = b"\xef\xbb\xbf"


class FileRefused(KessaiError):
    """9101: the file is malformed; `detail` says where and why, for people."""

    code = "9101"

    def __init__(self, line_no: int, reason: str) -> None:
        where = f"{line_no}行目: {reason}"
        super().__init__(message=f"ファイルの形式が不正です。{where}", detail=where)
        self.line_no = line_no
        self.reason = reason


@dataclass(frozen=True)
class FileRow:
    line_no: int  # the header is line 1
    fields: dict[str, str]  # validated by the telegram's codec; empty cells are "not sent"


Check = Callable[[Mapping[str, str]], dict[str, str]]


def parse_file(data: bytes, layout: FileLayout, check: Check) -> list[FileRow]:
    """Every request line of `data`, each checked by `check` (the telegram's codec)."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise FileRefused(1, "ファイルが空です（1行目に列名が必要です）。")
        columns = _columns(header, layout)
        rows = list(_rows(reader, lambda: reader.line_num, columns, check))
    except csv.Error:
        raise FileRefused(reader.line_num, "CSVとして読めません（引用符の対応など）。") from None
    if not rows:
        raise FileRefused(2, "処理する行がありません。")
    return rows


def _decode(data: bytes) -> str:
    if data.startswith(_BOM):
        return _decoded(data[len(_BOM) :], "utf-8", "UTF-8")
    return _decoded(data, "cp932", "Windows-31J")


def _decoded(data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        line_no = data[: error.start].count(b"\n") + 1
        raise FileRefused(line_no, f"{name}として読めない文字があります。") from None


def _columns(header: list[str], layout: FileLayout) -> list[str]:
    names = [name.strip() for name in header]
    for name in names:
        if name in layout.refused:
            raise FileRefused(1, f"列「{name}」は指定できません（{layout.refused[name]}）。")
        if name not in layout.columns:
            raise FileRefused(1, f"列「{name}」はこのファイル種別にありません。")
    if len(set(names)) != len(names):
        raise FileRefused(1, "同じ列名が2回あります。")
    missing = sorted(layout.required - set(names))
    if missing:
        raise FileRefused(1, f"必須の列「{missing[0]}」がありません。")
    return names


def _rows(
    reader: Iterator[list[str]], line_of: Callable[[], int], columns: list[str], check: Check
) -> Iterator[FileRow]:
    for cells in reader:
        line_no = line_of()
        if not cells:
            continue  # a blank line (the last line's CRLF) is nothing to run
        if len(cells) != len(columns):
            raise FileRefused(line_no, f"項目数が{len(cells)}です（列は{len(columns)}）。")
        raw = {name: value for name, value in zip(columns, cells, strict=True) if value != ""}
        try:
            fields = check(raw)
        except KessaiError as error:
            raise FileRefused(line_no, f"{error.code} {error.message}") from None
        yield FileRow(line_no=line_no, fields={k: v for k, v in fields.items() if k in raw})
