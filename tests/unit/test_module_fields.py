"""Field rules of the module-type telegrams (spec §1.7 P005–P010, §1.8)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.kit.errors import InvalidRequest
from kessai.web.module.fields import (
    FieldKind,
    FieldSpec,
    Required,
    check_field,
    normalise_kana,
    present,
    validate,
)
from kessai.web.module.specs import REQUEST_SPECS

REQ = Required.REQUIRED
OPT = Required.OPTIONAL


def spec(kind: FieldKind, max_bytes: int = 20, choices: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec("f", kind, max_bytes, REQ, choices=choices)


def code_for(field: FieldSpec, value: str | None) -> str:
    with pytest.raises(InvalidRequest) as caught:
        check_field(field, value)
    assert caught.value.field == field.name
    return caught.value.code


def accepts(field: FieldSpec, value: str) -> bool:
    try:
        check_field(field, value)
    except InvalidRequest:
        return False
    return True


# --- presence -------------------------------------------------------------------------------------


def test_missing_required_field_answers_p005() -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate({}, [FieldSpec("customer_id", FieldKind.ID, 25, REQ)])
    assert (caught.value.code, caught.value.field) == ("P005", "customer_id")
    assert caught.value.message == '"customer_id"パラメータが存在しません。'


def test_empty_required_field_answers_p006() -> None:
    assert code_for(FieldSpec("payment_amount", FieldKind.AMOUNT, 7, REQ), "") == "P006"


@pytest.mark.parametrize("required", [Required.CONDITIONAL, Required.OPTIONAL])
def test_absent_non_required_field_is_an_empty_string(required: Required) -> None:
    assert validate({}, [FieldSpec("site_id", FieldKind.ALNUM, 4, required)]) == {"site_id": ""}


def test_empty_optional_field_skips_every_other_check() -> None:
    field = FieldSpec("card_number", FieldKind.DIGITS, 16, OPT, min_bytes=14, choices=("x",))
    assert check_field(field, "") == ""


def test_unknown_fields_are_ignored_and_not_returned() -> None:
    specs = [FieldSpec("customer_id", FieldKind.ID, 25, REQ)]
    assert validate({"customer_id": "c_1", "limit_count": "2000"}, specs) == {"customer_id": "c_1"}


def test_present_tells_empty_from_absent() -> None:
    fields = {"add_info1": ""}
    assert (present(fields, "add_info1"), present(fields, "add_info2")) == (True, False)


# --- order of errors ------------------------------------------------------------------------------


def test_first_error_in_spec_order_wins() -> None:
    specs = [FieldSpec("a", FieldKind.DIGITS, 2, REQ), FieldSpec("b", FieldKind.DIGITS, 2, REQ)]
    with pytest.raises(InvalidRequest) as caught:
        validate({"b": "x", "a": "123"}, specs)
    assert (caught.value.code, caught.value.field) == ("P009", "a")


def test_class_error_comes_before_length_error() -> None:
    assert code_for(spec(FieldKind.DIGITS, 2), "abc") == "P008"


def test_length_error_comes_before_choice_error() -> None:
    assert code_for(spec(FieldKind.DIGITS, 1, choices=("1",)), "11") == "P009"


# --- digits, alnum, id, ascii, amount ---------------------------------------------------------


def test_full_width_digit_in_digits_field_answers_p008() -> None:
    assert code_for(spec(FieldKind.DIGITS), "１２３") == "P008"


def test_full_width_letter_in_digits_field_answers_p008() -> None:
    assert code_for(spec(FieldKind.DIGITS), "12ａ") == "P008"


def test_other_unicode_digits_are_not_digits() -> None:
    assert code_for(spec(FieldKind.DIGITS), "١٢٣") == "P008"  # Arabic-Indic digits


def test_digits_field_refuses_a_trailing_newline() -> None:
    assert code_for(spec(FieldKind.DIGITS), "123\n") == "P008"


def test_digits_field_refuses_spaces() -> None:
    assert code_for(spec(FieldKind.DIGITS), " 123") == "P008"


def test_alnum_accepts_letters_and_digits_but_not_underscore() -> None:
    field = spec(FieldKind.ALNUM)
    assert (accepts(field, "Abc123"), accepts(field, "abc_1")) == (True, False)


def test_id_accepts_underscore_but_not_hyphen() -> None:
    field = spec(FieldKind.ID, 25)
    assert (accepts(field, "wc_1234_A"), accepts(field, "wc-1234")) == (True, False)


def test_ascii_accepts_printable_ascii_and_refuses_tab() -> None:
    field = spec(FieldKind.ASCII, 100)
    assert (accepts(field, "text/html,*/*;q=0.8 ~"), accepts(field, "a\tb")) == (True, False)


def test_ascii_refuses_non_ascii_letters() -> None:
    assert code_for(spec(FieldKind.ASCII), "Taro Yamadá") == "P008"


@pytest.mark.parametrize("value", ["0", "1", "9999999", "100"])
def test_amount_accepts_plain_integers(value: str) -> None:
    assert check_field(spec(FieldKind.AMOUNT, 7), value) == value


@pytest.mark.parametrize("value", ["0100", "00", "-1", "1.0", "1,000", "１"])
def test_amount_refuses_leading_zeros_signs_and_decimals_with_p008(value: str) -> None:
    assert code_for(spec(FieldKind.AMOUNT, 7), value) == "P008"


def test_amount_of_eight_digits_answers_p009() -> None:
    assert code_for(spec(FieldKind.AMOUNT, 7), "10000000") == "P009"


# --- lengths and choices --------------------------------------------------------------------------


def test_value_at_max_bytes_passes() -> None:
    assert (
        check_field(FieldSpec("merchant_id", FieldKind.DIGITS, 9, REQ), "123456789") == "123456789"
    )


def test_value_one_byte_too_long_answers_p009() -> None:
    field = FieldSpec("merchant_id", FieldKind.DIGITS, 9, REQ)
    with pytest.raises(InvalidRequest) as caught:
        check_field(field, "1234567890")
    assert caught.value.code == "P009"
    assert caught.value.message == '"merchant_id"パラメータの値は桁数が不正です。'


def test_value_one_byte_too_short_answers_p009() -> None:
    field = FieldSpec("card_number", FieldKind.DIGITS, 16, OPT, min_bytes=14)
    assert (accepts(field, "1" * 14), code_for(field, "1" * 13)) == (True, "P009")


def test_full_width_characters_count_two_bytes() -> None:
    field = spec(FieldKind.FULLWIDTH, 5)
    assert (accepts(field, "テス"), code_for(field, "テスト")) == (True, "P009")


def test_value_outside_choices_answers_p010() -> None:
    field = FieldSpec("payment_class", FieldKind.DIGITS, 2, OPT, choices=("10", "23", "61", "80"))
    assert (accepts(field, "61"), code_for(field, "62")) == (True, "P010")


# --- full-width (JIS X 0208) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "　、。",  # row 1
        "ａＡ０",  # row 3
        "あいう",  # row 4
        "アイウ",  # row 5
        "ΑΩ",  # row 6
        "亜",  # row 16, first kanji
        "腕",  # row 47, last level-1 kanji
        "弌",  # row 48, first level-2 kanji
        "熙",  # row 84
        "山田太郎",
    ],
)
def test_full_width_accepts_jis_x_0208(value: str) -> None:
    assert check_field(spec(FieldKind.FULLWIDTH), value) == value


@pytest.mark.parametrize(
    "value",
    [
        "①",  # NEC special, row 13
        "㈱",  # NEC special, row 13
        "髙",  # IBM extension kanji (NEC-selected row 89–92 in Python's cp932)
        "纊",  # NEC-selected IBM extension, row 89
        "ⅰ",  # IBM extension small roman numeral
        "\ue000",  # user-defined area
        "ｱ",  # half-width katakana, one byte
        "A",  # ASCII
        "😀",  # not in Windows-31J at all
    ],
)
def test_full_width_refuses_vendor_extensions_and_single_byte_characters(value: str) -> None:
    assert code_for(spec(FieldKind.FULLWIDTH), value) == "P008"


# --- half-width kana (Zengin) ---------------------------------------------------------------------


def test_kana_accepts_half_width_katakana_and_zengin_symbols() -> None:
    value = "ﾔﾏﾀﾞ ﾀﾛｳ ｶ)ﾃｽﾄ ｢1｣-2/3,4.(5)"
    assert check_field(spec(FieldKind.KANA, 64), value) == value


def test_kana_upper_cases_lower_case_letters() -> None:
    assert check_field(spec(FieldKind.KANA), "abc ﾃｽﾄ") == "ABC ﾃｽﾄ"


def test_kana_enlarges_small_kana() -> None:
    assert check_field(spec(FieldKind.KANA), "ｷｬｯｼｭ") == "ｷﾔﾂｼﾕ"


def test_kana_reads_backslash_and_yen_sign_as_the_same_byte() -> None:
    field = spec(FieldKind.KANA)
    assert (check_field(field, "\\100"), check_field(field, "¥100")) == ("\\100", "\\100")


@pytest.mark.parametrize("value", ["テスト", "てすと", "漢字", "A_B", "A*B", "ｱ･ｲ"])
def test_kana_refuses_full_width_and_other_symbols_with_p008(value: str) -> None:
    assert code_for(spec(FieldKind.KANA), value) == "P008"


def test_normalise_kana_keeps_length() -> None:
    assert len(normalise_kana("abcｧｨｩ")) == 6


# --- text -----------------------------------------------------------------------------------------


def test_text_accepts_anything_windows_31j_carries_including_vendor_characters() -> None:
    value = "Visa ① 髙橋 ｶﾅ ~!"
    assert check_field(spec(FieldKind.TEXT, 64), value) == value


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\tb", "a\x00b", "a\x7fb", "a\x80b"])
def test_text_refuses_control_characters_with_p008(value: str) -> None:
    assert code_for(spec(FieldKind.TEXT), value) == "P008"


def test_character_outside_windows_31j_answers_p008() -> None:
    assert code_for(spec(FieldKind.TEXT), "café 😀") == "P008"


def test_text_length_is_counted_in_windows_31j_bytes() -> None:
    field = spec(FieldKind.TEXT, 4)
    assert (accepts(field, "髙a"), accepts(field, "ab髙"), code_for(field, "髙髙a")) == (
        True,
        True,
        "P009",
    )


# --- properties -----------------------------------------------------------------------------------

ALL_SPECS = [field for specs in REQUEST_SPECS.values() for field in specs]
field_names = st.sampled_from([*sorted({field.name for field in ALL_SPECS}), "unknown"])


@given(st.dictionaries(field_names, st.text(max_size=40)), st.sampled_from(sorted(REQUEST_SPECS)))
def test_validate_raises_nothing_but_invalid_request(fields: dict[str, str], kind: str) -> None:
    try:
        checked = validate(fields, REQUEST_SPECS[kind])
    except InvalidRequest as error:
        assert error.code in {"P005", "P006", "P008", "P009", "P010"}
    else:
        assert set(checked) == {field.name for field in REQUEST_SPECS[kind]}


@given(st.sampled_from(ALL_SPECS), st.text(max_size=80))
def test_any_value_of_any_field_is_accepted_or_refused_with_a_field_code(
    field: FieldSpec, value: str
) -> None:
    try:
        check_field(field, value)
    except InvalidRequest as error:
        assert error.field == field.name


@given(st.from_regex(r"[0-9]{1,9}", fullmatch=True))
def test_digits_within_bounds_come_back_unchanged(value: str) -> None:
    assert check_field(FieldSpec("merchant_id", FieldKind.DIGITS, 9, REQ), value) == value


# Characters Windows-31J encodes as a look-alike's code (〜 as ～'s 0x8160): generated on purpose.
LOOK_ALIKES = "¢£¬‖−〜"


@given(
    st.text(st.characters(codec="cp932", include_characters=LOOK_ALIKES), min_size=1, max_size=20)
)
def test_accepted_full_width_values_are_two_bytes_per_character(value: str) -> None:
    if accepts(spec(FieldKind.FULLWIDTH, 40), value):
        assert len(value.encode("cp932")) == 2 * len(value)
