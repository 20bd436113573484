"""The payout statement: read from the close's JSON, drawn as a PDF whose text reads back."""

from __future__ import annotations

from datetime import date
from typing import Any

import pypdfium2 as pdfium
import pytest

from kessai.core.payouts.statement import Statement, StatementDocument
from kessai.kit.errors import InvalidRequest
from kessai.web.console.statement_pdf import render

CLOSED: dict[str, Any] = {
    "statement_id": "ST-30001-20261130",
    "merchant_id": 30001,
    "period_from": "2026-11-01",
    "period_through": "2026-11-30",
    "payout_date": "2026-12-30",
    "lines": [
        {"payment_type": "02", "count": 128, "gross": 1_234_567, "refunds": 23_000, "fees": 39_770},
        {"payment_type": "03", "count": 9, "gross": 45_600, "refunds": 0, "fees": 1_710},
    ],
    "fees_total": 41_480,
    "tax": 4_148,
    "adjustments": -500,
    "carried_in": 0,
    "payout_amount": 1_211_039,
    "carried_forward": 0,
}


def _text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        assert len(document) == 1
        return document[0].get_textpage().get_text_range()
    finally:
        document.close()


def test_the_pdf_reads_back_with_every_figure_and_the_registration_number() -> None:
    doc = StatementDocument(
        statement=Statement.from_json(CLOSED),
        merchant_name="テスト商店株式会社",
        issuer_name="Kessai株式会社",
        registration_number="T1234567890123",
    )
    text = _text(render(doc))
    for expected in (
        "支払明細書",
        "ST-30001-20261130",
        "テスト商店株式会社 御中",
        "登録番号 T1234567890123",
        "2026年11月1日 ～ 2026年11月30日",
        "2026年12月30日",
        "クレジットカード",
        "1,234,567円",
        "23,000円",
        "39,770円",
        "45,600円",
        "41,480円",
        "4,148円",
        "-500円",
        "1,211,039円",
        "10%対象 41,480円",
        "消費税 4,148円",
    ):
        assert expected in text, expected


def test_the_statement_is_read_exactly_as_the_contract_has_it() -> None:
    statement = Statement.from_json(CLOSED)
    assert statement.period_through == date(2026, 11, 30)
    assert statement.lines[0].gross == 1_234_567
    assert statement.payout_amount == 1_211_039


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"tax": 4148.0}, "tax must be an integer"),
        ({"tax": True}, "tax must be an integer"),
        ({"payout_date": "2026-12-3"}, "YYYY-MM-DD"),
        ({"payout_date": "2026-02-30"}, "not a date"),
        ({"surplus": 1}, "unexpected"),
        ({"lines": [{"payment_type": "02", "count": 1}]}, "missing"),
    ],
)
def test_anything_off_contract_is_refused_by_field(change: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidRequest, match=says):
        Statement.from_json({**CLOSED, **change})


def test_a_registration_number_not_t_and_13_digits_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="T and 13 digits"):
        StatementDocument(Statement.from_json(CLOSED), "店", "Kessai", "T123")
