"""Decoding module-type requests as PAYGENT's clients send them (spec §1.1, §1.2, §6 items 2–3)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.kit.errors import InvalidRequest
from kessai.web.module.codec import (
    MAX_REQUEST_BYTES,
    charset_for_kind,
    decode_request,
    parse_pairs,
    request_charset,
)

CARD_PATH = "/n/card/request"
FORM = "application/x-www-form-urlencoded"


def decode(
    body: bytes = b"", query: bytes = b"", content_type: str | None = FORM, path: str = CARD_PATH
) -> dict[str, str]:
    return decode_request(body=body, query=query, content_type=content_type, path=path)


def cp932_form(fields: dict[str, str]) -> bytes:
    """A form body as the PHP module writes it: Windows-31J bytes, percent-encoded, space as `+`."""
    return urlencode(fields, encoding="cp932").encode("ascii")


def test_percent_encoded_shift_jis_full_width_text_decodes() -> None:
    # テスト in Windows-31J is 83 65 83 58 83 67; PHP leaves 0x65 'e' and 0x58 'X' unescaped.
    assert decode(b"customer_name=%83e%83X%83g") == {"customer_name": "テスト"}


def test_unencoded_shift_jis_bytes_decode() -> None:
    assert decode("customer_name=テスト".encode("cp932")) == {"customer_name": "テスト"}


def test_half_width_katakana_bytes_decode() -> None:
    assert decode(b"claim_kana=%B6%C5") == {"claim_kana": "ｶﾅ"}


def test_plus_is_a_space_and_percent_2b_is_a_plus() -> None:
    assert decode(b"a=x+y&b=x%2By") == {"a": "x y", "b": "x+y"}


def test_values_are_not_stripped() -> None:
    assert decode(b"a=+x+&b=%20") == {"a": " x ", "b": " "}


def test_value_may_contain_equals_sign() -> None:
    assert decode(b"term_url=https://shop.example/?a=1") == {
        "term_url": "https://shop.example/?a=1"
    }


def test_malformed_percent_sequence_is_kept_literally() -> None:
    assert decode(b"a=100%ZZ") == {"a": "100%ZZ"}


def test_query_string_only_request_with_empty_body_is_read() -> None:
    # The jinzhu/camelmasa Ruby gems post everything in the query string with Content-Length: 0.
    query = b"merchant_id=123456789&telegram_kind=020&telegram_version=1.0"
    assert decode(body=b"", query=query, content_type=None) == {
        "merchant_id": "123456789",
        "telegram_kind": "020",
        "telegram_version": "1.0",
    }


def test_body_and_query_are_merged() -> None:
    assert decode(body=b"a=1", query=b"b=2") == {"a": "1", "b": "2"}


def test_body_wins_over_query_on_clash() -> None:
    assert decode(body=b"trading_id=body", query=b"trading_id=query") == {"trading_id": "body"}


def test_first_duplicate_wins() -> None:
    assert decode(b"payment_amount=100&payment_amount=999") == {"payment_amount": "100"}


def test_later_duplicate_with_undecodable_bytes_is_ignored() -> None:
    assert decode(b"a=ok&a=%82") == {"a": "ok"}


def test_name_without_equals_sign_has_empty_value() -> None:
    assert decode(b"customer_card_id&a=1") == {"customer_card_id": "", "a": "1"}


def test_empty_segments_and_empty_names_are_skipped() -> None:
    assert decode(b"&&a=1&=orphan&") == {"a": "1"}


def test_trailing_crlf_after_body_is_ignored() -> None:
    # An old Java module writes two CRLFs after the body.
    assert decode(b"a=1&b=2\r\n\r\n") == {"a": "1", "b": "2"}


def test_empty_body_and_query_give_no_fields() -> None:
    assert decode(b"", b"") == {}


def test_parameter_order_is_kept() -> None:
    assert list(decode(b"z=1&a=2&m=3")) == ["z", "a", "m"]


def test_charset_utf_8_in_content_type_decodes_utf_8() -> None:
    body = urlencode({"customer_name": "テスト"}).encode("ascii")
    assert decode(body, content_type="application/x-www-form-urlencoded; CHARSET=UTF-8") == {
        "customer_name": "テスト"
    }


def test_quoted_utf8_charset_is_recognised() -> None:
    assert decode("a=é".encode(), content_type=f'{FORM}; charset="utf8"') == {"a": "é"}


def test_utf_8_path_decodes_utf_8() -> None:
    assert decode("a=テスト".encode(), path="/v/u/request") == {"a": "テスト"}


def test_utf_8_telegram_kind_decodes_utf_8_without_declared_charset() -> None:
    body = "telegram_kind=450&cardholder_name=テスト".encode()
    assert decode(body)["cardholder_name"] == "テスト"


def test_utf_8_telegram_kind_in_query_string_decodes_body_as_utf_8() -> None:
    assert decode("a=テスト".encode(), query=b"telegram_kind=450") == {
        "a": "テスト",
        "telegram_kind": "450",
    }


def test_declared_windows_31j_decodes_as_cp932() -> None:
    body = "a=テスト".encode("cp932")
    assert decode(body, content_type=f"{FORM}; charset=Windows-31J") == {"a": "テスト"}


def test_euc_jp_link_path_decodes_euc_jp() -> None:
    assert decode("a=テスト".encode("euc_jp"), path="/v/e/request") == {"a": "テスト"}


def test_truncated_shift_jis_character_answers_p010_naming_the_field() -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode(b"merchant_id=1&customer_name=%83e%83")
    assert (caught.value.code, caught.value.field) == ("P010", "customer_name")
    assert caught.value.message == '"customer_name"パラメータの値は不正な値です。'


def test_invalid_trail_byte_answers_p010() -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode(b"a=%81%20")
    assert (caught.value.code, caught.value.field) == ("P010", "a")


def test_invalid_utf_8_under_declared_utf_8_answers_p010() -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode(b"a=%83e", content_type=f"{FORM}; charset=utf-8")
    assert (caught.value.code, caught.value.field) == ("P010", "a")


def test_undecodable_parameter_name_answers_p010() -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode(b"bad%82=1")
    assert caught.value.code == "P010"


def test_body_of_exactly_100_kb_is_accepted() -> None:
    body = b"a=" + b"x" * (MAX_REQUEST_BYTES - 2)
    assert len(decode(body)["a"]) == MAX_REQUEST_BYTES - 2


def test_body_over_100_kb_answers_p009_for_request() -> None:
    body = b"a=" + b"x" * (MAX_REQUEST_BYTES - 1)
    with pytest.raises(InvalidRequest) as caught:
        decode(body)
    assert (caught.value.code, caught.value.field) == ("P009", "request")


def test_query_counts_towards_the_size_limit() -> None:
    with pytest.raises(InvalidRequest):
        decode(b"a=1", query=b"b=" + b"x" * MAX_REQUEST_BYTES)


def test_parse_pairs_gives_raw_bytes() -> None:
    assert parse_pairs(b"a=%83e&b") == [(b"a", b"\x83e"), (b"b", b"")]


@pytest.mark.parametrize(
    ("content_type", "path", "kind", "expected"),
    [
        (None, CARD_PATH, "020", "cp932"),
        (f"{FORM}; charset=Shift_JIS", CARD_PATH, "020", "cp932"),
        (f"{FORM}; charset=UTF-8", CARD_PATH, "020", "utf-8"),
        (f"{FORM};charset=utf-8", CARD_PATH, "020", "utf-8"),
        (None, "/v/u/request", "", "utf-8"),
        (None, "/m/u/request", "", "utf-8"),
        (None, "/n/threeds/request", "450", "utf-8"),
        (None, "/n/pi/request", "415", "utf-8"),
        (None, "/n/token/request", "098", "utf-8"),
        (None, "/v/e/request", "", "euc_jp"),
        (None, "/v/request", "", "cp932"),
    ],
)
def test_request_charset_follows_declared_charset_path_and_kind(
    content_type: str | None, path: str, kind: str, expected: str
) -> None:
    assert request_charset(content_type=content_type, path=path, telegram_kind=kind) == expected


def test_response_charset_is_utf_8_only_for_utf_8_kinds() -> None:
    assert (charset_for_kind("450"), charset_for_kind("020")) == ("utf-8", "cp932")


# Characters Windows-31J encodes but decodes as their look-alikes (〜 comes back as ～).
NOT_ROUND_TRIPPING = "¢£¬‖−〜"
cp932_text = st.text(st.characters(codec="cp932", exclude_characters=NOT_ROUND_TRIPPING))


@given(st.dictionaries(cp932_text.filter(bool), cp932_text, max_size=8))
def test_any_cp932_form_decodes_to_what_was_encoded(fields: dict[str, str]) -> None:
    assert decode(cp932_form(fields)) == fields


@given(
    st.binary(max_size=200),
    st.binary(max_size=200),
    st.sampled_from([None, FORM, f"{FORM}; charset=utf-8"]),
)
def test_arbitrary_bytes_decode_or_answer_invalid_request(
    body: bytes, query: bytes, content_type: str | None
) -> None:
    try:
        fields = decode(body, query, content_type)
    except InvalidRequest as error:
        assert error.code == "P010"
    else:
        assert all(isinstance(value, str) for value in fields.values())
