"""The convenience-store barcode (kit.cvs_barcode): its check digit, layout and parse, and the
Code 128 symbol reportlab draws for it (FNC1 first, code set C, mod-103 checksum)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.kit import cvs_barcode
from kessai.kit.cvs_barcode import SlipCode
from kessai.web.buyer.slip_pdf import barcode

START_C, FNC1, STOP = 105, 102, 106


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        # Two codes with their check digits, as a public 収納代行 implementation tests them.
        ("9191234501234567890123456789010103310123000", "3"),
        ("9194238617895391785393569273010307311031290", "3"),
        ("4912345678904"[:-1], "4"),  # the JAN example of the weights 3/1 (modulus 10)
    ],
)
def test_check_digit_is_modulus_10_with_weights_3_and_1_from_the_right(digits, check):
    assert cvs_barcode.check_digit(digits) == check


def test_the_layout_puts_each_field_where_the_guideline_does():
    code = SlipCode(
        company_code="912345",
        free_field="0123456789012345678901"[:21],
        reissue=1,
        deadline=date(2001, 3, 31),
        stamp=False,
        amount=123000,
    ).digits()
    assert code == "91912345012345678901234567890101033101230003"
    assert len(code) == 44


def test_a_short_free_field_is_padded_with_zeros_on_the_right():
    code = SlipCode("999999", "123", date(2026, 4, 30), 500).digits()
    assert code[8:29] == "123" + "0" * 18


@pytest.mark.parametrize(
    "fields",
    [
        {"company_code": "12345"},
        {"free_field": "1" * 22},
        {"free_field": "12a"},
        {"amount": 0},
        {"amount": 1_000_000},
        {"reissue": 10},
    ],
)
def test_a_field_that_does_not_fit_is_refused(fields):
    base = {"company_code": "999999", "free_field": "1", "deadline": date(2026, 4, 30), "amount": 1}
    with pytest.raises(ValueError):
        SlipCode(**(base | fields)).digits()  # type: ignore[arg-type]


@given(
    company=st.from_regex(r"[0-9]{6}", fullmatch=True),
    free=st.from_regex(r"[0-9]{21}", fullmatch=True),
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    amount=st.integers(1, 999_999),
    stamp=st.booleans(),
    reissue=st.integers(0, 9),
)
def test_parse_reads_back_what_was_composed(company, free, day, amount, stamp, reissue):
    code = SlipCode(company, free, day, amount, stamp, reissue)
    assert cvs_barcode.parse(code.digits()) == code


@given(position=st.integers(0, 43), delta=st.integers(1, 9))
def test_any_single_wrong_digit_is_caught(position, delta):
    code = SlipCode("999999", "42", date(2026, 4, 30), 3300).digits()
    wrong = code[:position] + str((int(code[position]) + delta) % 10) + code[position + 1 :]
    with pytest.raises(ValueError):  # weights 1 and 3 are both prime to 10
        cvs_barcode.parse(wrong)


def test_human_readable_lines_hold_all_44_digits():
    code = SlipCode("999999", "42", date(2026, 4, 30), 3300).digits()
    first, second = cvs_barcode.human_readable(code)
    assert first.startswith("(91)999999-")
    assert "".join(ch for ch in first + second if ch.isdigit()) == code


def test_stamp_threshold_is_50000_yen_before_the_stated_tax():
    assert not cvs_barcode.needs_stamp(49_999)
    assert cvs_barcode.needs_stamp(50_000)
    assert not cvs_barcode.needs_stamp(54_000, stated_tax=4_910)


def test_reportlab_encodes_fnc1_then_the_digits_in_code_set_c():
    code = SlipCode("999999", "42", date(2026, 4, 30), 3300).digits()
    symbol = barcode(code)
    symbol.validate()
    encoded = symbol.encode()
    pairs = [int(code[i : i + 2]) for i in range(0, 44, 2)]
    assert encoded[:2] == [START_C, FNC1]
    assert encoded[2:-2] == pairs
    values = encoded[:-2]
    assert encoded[-2] == (values[0] + sum(i * v for i, v in enumerate(values) if i)) % 103
    assert encoded[-1] == STOP


def test_the_symbol_fits_the_tills_60_mm_scanners():
    symbol = barcode(SlipCode("999999", "42", date(2026, 4, 30), 3300).digits())
    width_mm = symbol.width / (72 / 25.4)
    assert 55 < width_mm <= 60
