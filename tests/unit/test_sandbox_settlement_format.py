"""The sandbox institutions' settlement report: what is written reads back the same, a file is
read in exactly one form (no leading zeros, no other digits, no missing trailer), and planted
breaks are the ones asked for."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.connectors.base import SettlementKind, SettlementLine, SettlementReport
from kessai.connectors.sandbox.settlement import SandboxSettlementFormat, net_total, plant, write
from kessai.kit.errors import InvalidRequest

DAY = date(2026, 12, 5)
FORMAT = SandboxSettlementFormat("acquirer")
GOOD = (
    "H,kessai-sandbox-settlement,1,acquirer,20261205\r\n"
    "D,30001,1042,sbx-1,S,10000,20261205\r\n"
    "D,30001,1043,,R,2500,20261206\r\n"
    "T,2,7500\r\n"
)

_lines = st.lists(
    st.builds(
        SettlementLine,
        line_number=st.just(0),
        merchant_id=st.none() | st.integers(1, 999_999_999),
        payment_id=st.integers(1, 10**11),
        reference=st.from_regex(r"[A-Za-z0-9\-]{0,20}", fullmatch=True),
        kind=st.sampled_from(SettlementKind),
        amount=st.integers(1, 10**9),
        settled_on=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    ),
    max_size=20,
)


@given(_lines)
def test_a_written_report_reads_back_the_same(lines):
    numbered = tuple(
        SettlementLine(n, x.merchant_id, x.payment_id, x.reference, x.kind, x.amount, x.settled_on)
        for n, x in enumerate(lines, start=2)
    )
    report = SettlementReport("acquirer", DAY, numbered)
    assert FORMAT.parse(write(report)) == report


def test_the_example_reads_as_one_sale_and_one_refund():
    report = FORMAT.parse(GOOD.encode())
    assert report.report_date == DAY and net_total(report.lines) == 7500
    sale, refund = report.lines
    assert (sale.line_number, sale.payment_id, sale.reference, sale.kind) == (
        2, 1042, "sbx-1", SettlementKind.SALE)  # fmt: skip
    assert (refund.reference, refund.kind, refund.settled_on) == (
        "", SettlementKind.REFUND, date(2026, 12, 6))  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("10000", "010000", "line 2: amount must be digits without leading zeros"),
        ("10000", "１0000", "line 2: amount"),
        ("10000", "0", "line 2: amount"),
        (",1042,", ",+1042,", "line 2: payment ID"),
        (",S,", ",X,", "line 2: kind must be S"),
        ("20261206", "2026-12-6", "line 3: a date is YYYYMMDD"),
        ("20261206", "20261331", "line 3: a date is YYYYMMDD"),
        ("T,2,7500", "T,2,7501", "line 4: the trailer says 2 lines, 7501 yen"),
        ("T,2,7500\r\n", "", "line 3: the last record must be the trailer"),
        (",acquirer,", ",cvs,", "line 1: this is 'cvs''s report, not 'acquirer''s"),
        ("sbx-1", "sbx 1", "line 2: the reference"),
        (",1043,,", ",,,", "line 3: a line names its payment"),
    ],
)
def test_a_file_in_any_other_form_is_refused_naming_its_line(old, new, says):
    with pytest.raises(InvalidRequest) as refused:
        FORMAT.parse(GOOD.replace(old, new, 1).encode())
    assert says in refused.value.message


def test_a_file_that_is_not_utf8_is_refused():
    with pytest.raises(InvalidRequest, match="not UTF-8"):
        FORMAT.parse(GOOD.replace("sbx-1", "テスト").encode("cp932"))


def test_each_planted_break_takes_a_sale_of_its_own():
    sales = tuple(
        SettlementLine(n, 30001, 100 + n, "", SettlementKind.SALE, 1000 * n, DAY)
        for n in range(2, 6)
    )
    report = SettlementReport("acquirer", DAY, sales)
    planted = plant(report, ["missing", "amount", "twice", "unknown"], unknown_payment_id=9)
    paid = [(line.payment_id, line.amount) for line in planted.lines]
    assert paid == [(103, 2900), (104, 4000), (105, 5000), (104, 4000), (9, 1000)]
    assert [line.line_number for line in planted.lines] == [2, 3, 4, 5, 6]
    assert FORMAT.parse(write(planted)) == planted
    assert plant(report, [], unknown_payment_id=9) == report
