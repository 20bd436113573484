"""The rounding rules (kit.money), the fee rate's parsing and the invoice registration number."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.core.statements.fees import Fee, parse_rate
from kessai.kit.errors import InvalidRequest
from kessai.kit.money import consumption_tax, percent_of
from kessai.kit.registration import is_registration_number


def test_a_percentage_drops_fractions_of_a_yen():
    assert percent_of(1000, 325) == 32  # 32.5 → 32
    assert percent_of(999, 100) == 9  # 9.99 → 9
    assert percent_of(-1000, 325) == -32  # toward zero: a refund gives back what was charged


@given(amount=st.integers(min_value=0, max_value=10**10), rate=st.integers(0, 9999))
def test_a_refund_gives_back_exactly_the_rate_part_its_sale_charged(amount, rate):
    fee = Fee(rate_bp=rate, fixed=40)
    assert fee.on_sale(amount) - fee.on_refund(amount) == 40
    assert 0 <= fee.on_refund(amount) <= amount


def test_consumption_tax_is_ten_percent_rounded_down_once():
    assert consumption_tax(1234, 10) == 123
    assert consumption_tax(9, 10) == 0
    assert consumption_tax(-1234, 10) == -123


@pytest.mark.parametrize(("text", "bp"), [("3.25", 325), ("0", 0), ("0.01", 1), ("99.99", 9999)])
def test_rates_are_read_in_hundredths_of_a_percent(text, bp):
    assert parse_rate(text) == bp


@pytest.mark.parametrize("text", ["3.255", "100", "-1", "abc", "NaN", "Infinity", ""])
def test_other_rates_are_refused(text):
    with pytest.raises(InvalidRequest):
        parse_rate(text)


def test_registration_numbers_need_t_13_digits_and_the_check_digit():
    assert is_registration_number("T7000012050002")  # 国税庁
    assert not is_registration_number("T1000012050002")  # wrong check digit
    assert not is_registration_number("7000012050002")
    assert not is_registration_number("T700001205000")
    assert not is_registration_number("T７000012050002")  # full-width digit
    assert not is_registration_number("T7000012050002\n")
