"""Reading a merchant's order list: the encoding and columns sniffed from its first bytes, amounts
and dates as Excel writes them, and every line read back as written, by its line number."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.core.reconcile.orders import (
    ColumnMap,
    Order,
    parse_amount,
    parse_date,
    read_orders,
    sniff,
)
from kessai.kit.errors import InvalidRequest

HEADER = "注文番号,請求額,入金予定日,決済方法\r\n"


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (HEADER.encode("cp932"), "cp932"),
        (HEADER.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + HEADER.encode("utf-8"), "utf-8-sig"),
    ],
)
def test_sniff_tells_the_encoding_and_guesses_the_columns(body: bytes, encoding: str):
    found = sniff(body)
    assert found.encoding == encoding
    assert found.columns == ["注文番号", "請求額", "入金予定日", "決済方法"]
    assert found.guessed == ColumnMap("注文番号", "請求額", "入金予定日", "決済方法")


def test_a_utf8_character_cut_off_at_the_end_of_the_sample_is_still_utf8():
    body = (HEADER + "あ" * 10).encode("utf-8")
    assert sniff(body[:-1]).encoding == "utf-8"


@pytest.mark.parametrize(
    ("header", "guessed"),
    [
        ("取引ID,金額", ColumnMap("取引ID", "金額")),
        ("trading_id,amount", ColumnMap("trading_id", "amount")),
        ("ｵｰﾀﾞｰID,ご請求額,請求金額", ColumnMap("ｵｰﾀﾞｰID", "請求金額")),
        ("受注ID, 決済金額 ,支払期限", ColumnMap("受注ID", "決済金額", "支払期限")),
        ("Order ID,Total", ColumnMap("Order ID", "Total")),
        ("伝票,税込", None),
    ],
)
def test_recognised_header_names(header: str, guessed: ColumnMap | None):
    assert sniff(header.encode()).guessed == guessed


@pytest.mark.parametrize(
    ("raw", "amount"),
    [("12000", 12000), ("12,000", 12000), ("¥12,000", 12000), ("１２，０００円", 12000), ("0", 0)],
)
def test_amounts_as_excel_writes_them(raw: str, amount: int):
    assert parse_amount(raw) == amount


@pytest.mark.parametrize("raw", ["", "-1", "12.5", "1e3", "12 000", "百", "99999999999"])
def test_amounts_that_are_not_whole_yen_are_refused(raw: str):
    assert parse_amount(raw) is None


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2026-12-05", date(2026, 12, 5)),
        ("2026/1/5", date(2026, 1, 5)),
        ("20261205", date(2026, 12, 5)),
    ],
)
def test_dates(raw: str, day: date):
    assert parse_date(raw) == day


@pytest.mark.parametrize("raw", ["2026-02-30", "12/05/2026", "2026年12月5日", "2026-12"])
def test_dates_that_are_not_one_of_the_forms_are_refused(raw: str):
    assert parse_date(raw) is None


def test_a_missing_column_is_named():
    with pytest.raises(InvalidRequest, match="列「金額」が見出し行にありません"):
        list(
            read_orders(
                io.BytesIO(b"trading_id,amount\nA,1\n"), ColumnMap("trading_id", "金額"), "utf-8"
            )
        )


def test_blank_lines_are_skipped_and_quoted_newlines_kept_in_their_field():
    body = '取引ID,金額,決済方法\n\n"A",100,"カード\n一括"\n,\nB,200,\n'.encode()
    found = list(
        read_orders(io.BytesIO(body), ColumnMap("取引ID", "金額", method="決済方法"), "utf-8")
    )
    assert found == [Order(4, "A", 100, None, "カード\n一括"), Order(6, "B", 200, None, None)]


TRADING_ID = st.text(
    alphabet=st.characters(
        codec="cp932", exclude_characters="\r\n\x00¢£¬‖−〜", exclude_categories=("Cs", "Zs", "Cc")
    ),
    min_size=1,
    max_size=25,
).filter(lambda s: s.strip() == s)


@given(
    lines=st.lists(st.tuples(TRADING_ID, st.integers(0, 9_999_999_999)), max_size=20),
    encoding=st.sampled_from(["cp932", "utf-8", "utf-8-sig"]),
)
def test_every_line_reads_back_as_written(lines: list[tuple[str, int]], encoding: str):
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(["取引ID", "金額"])
    writer.writerows(lines)
    body = text.getvalue().encode(encoding)
    found = list(read_orders(io.BytesIO(body), ColumnMap("取引ID", "金額"), sniff(body).encoding))
    assert [(o.trading_id, o.amount) for o in found] == lines
    assert [o.line_no for o in found] == list(range(2, len(lines) + 2))


def test_sniff_shows_the_first_lines_for_mapping_columns():
    body = ("伝票,税込\r\n" + "".join(f"A{n},{n}00\r\n" for n in range(1, 9))).encode("cp932")
    found = sniff(body)
    assert found.guessed is None
    assert found.sample == [
        ["A1", "100"],
        ["A2", "200"],
        ["A3", "300"],
        ["A4", "400"],
        ["A5", "500"],
    ]


def test_a_bom_file_read_as_plain_utf8_still_finds_its_first_column():
    body = b"\xef\xbb\xbf" + "取引ID,金額\nA,100\n".encode()
    found = list(read_orders(io.BytesIO(body), ColumnMap("取引ID", "金額"), "utf-8"))
    assert found == [Order(2, "A", 100, None, None)]
