"""Payout bank accounts and holders: what the Zengin file can carry, checked when typed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.core.payouts.accounts import account_holder, bank_account
from kessai.core.payouts.cycles import payout_cycle
from kessai.kit.banks import find_branch
from kessai.kit.errors import InvalidRequest
from kessai.kit.zengin_chars import ALLOWED, is_zengin, to_zengin


@pytest.mark.parametrize(
    ("typed", "kana"),
    [
        ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("カ）キヤツト", "ｶ)ｷﾔﾂﾄ"),
        ("ｶ)ｷｬｯﾄ", "ｶ)ｷﾔﾂﾄ"),  # small kana become large, as banks print them
        ("ヴエール", "ｳﾞｴ-ﾙ"),  # the long-vowel mark becomes a hyphen
        ("ﾊﾟﾝﾔ abc１２", "ﾊﾟﾝﾔ ABC12"),
    ],
)
def test_full_width_and_hiragana_names_become_half_width_katakana(typed: str, kana: str) -> None:
    assert account_holder(typed) == kana


@pytest.mark.parametrize("name", ["山田太郎", "ヤマダ・タロウ", "ﾔﾏﾀﾞ@", "ｱﾞ", "ﾞｱ", "ヰ"])
def test_characters_zengin_does_not_carry_are_refused_by_name(name: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        account_holder(name)
    assert raised.value.field == "account_holder"
    assert "account holder" in raised.value.message


def test_a_holder_longer_than_the_file_field_is_refused() -> None:
    assert account_holder("ｱ" * 30) == "ｱ" * 30
    with pytest.raises(InvalidRequest, match="at most 30"):
        account_holder("カ" * 15 + "ガ" * 8)  # 31 bytes once the voiced marks stand alone


@given(st.text(max_size=20))
def test_normalised_names_are_in_the_set_and_stay_as_they_are(text: str) -> None:
    try:
        kana = to_zengin(text)
    except ValueError:
        return
    assert set(kana) <= ALLOWED
    assert to_zengin(kana) == kana
    assert is_zengin(kana)
    assert len(kana.encode("cp932")) == len(kana)  # one byte per character in Shift_JIS


def test_an_account_is_checked_against_the_zengin_directory() -> None:
    account = bank_account("0001-001-1-1234567", "ヤマダ タロウ")
    assert (account.bank_name, account.branch_name) == ("ﾐｽﾞﾎ", "ﾄｳｷﾖｳ")
    assert account.label() == "0001-001-1-1234567"
    assert account.holder == "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert find_branch("0001", "001").bank_name == "みずほ"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("0001-001-3-1234567", "account type 3"),
        ("0001-001-1-123456", "BANK-BRANCH-TYPE-NUMBER"),
        ("1-001-1-1234567", "BANK-BRANCH-TYPE-NUMBER"),
        ("０００１-001-1-1234567", "BANK-BRANCH-TYPE-NUMBER"),  # no Unicode digits
        ("0001-001-1-1234567 ", "BANK-BRANCH-TYPE-NUMBER"),
        ("0002-001-1-1234567", "bank code 0002"),
        ("0001-998-1-1234567", "branch code 998"),
    ],
)
def test_a_malformed_or_unknown_account_is_refused(typed: str, says: str) -> None:
    with pytest.raises(InvalidRequest, match=says):
        bank_account(typed, "ﾔﾏﾀﾞ")


def test_cycles_default_their_days_and_refuse_days_they_cannot_have() -> None:
    assert payout_cycle("monthly").describe() == "末日締め翌月末日払い"
    assert payout_cycle("weekly").describe() == "日曜締め金曜払い"
    assert payout_cycle("semimonthly").describe().startswith("15日締め当月末払い")
    assert payout_cycle("monthly", 20, 10).describe() == "20日締め翌月10日払い"
    for kind, closing, payout in [
        ("monthly", 29, None),
        ("weekly", 0, None),
        ("weekly", None, 8),
        ("semimonthly", 10, None),
        ("daily", None, None),
    ]:
        with pytest.raises(InvalidRequest):
            payout_cycle(kind, closing, payout)
