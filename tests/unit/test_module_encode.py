"""Module-type replies, read back the way PAYGENT's clients read them (spec §1.3, §6 items 5–6)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kessai.web.module.encode import (
    content_type,
    encode_csv_response,
    encode_response,
    encode_response_utf8,
    error_fields,
    success_fields,
)

HEAD = ("result", "response_code", "response_detail")
HTML = "<!DOCTYPE HTML>\r\n<HTML><BODY>\r\n<form a=b>\r\n</form></BODY></HTML>"

# The jinzhu/theplant/camelmasa gems: a field is seen only between an LF and a CR.
RUBY_FIELD = re.compile(r"\n(\w+)=(<!DOCTYPE.*?</HTML>|.*?)\r", re.DOTALL | re.ASCII)


def php_parse(body: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """PaymentResponseDataImpl::parse of the PHP module: (result head, record)."""
    head: dict[str, str] = {}
    record: dict[str, str] = {}
    html_key: str | None = None
    html = ""
    for line in body.decode("cp932").split("\r\n"):
        name, sep, value = line.partition("=")
        if name.endswith("_html"):
            html_key = name  # the text after `xxx_html=` on its own line is ignored
        elif html_key is not None:
            html += line + "\r\n"
        elif sep:
            (head if name in HEAD else record)[name] = value
    if html_key is not None:
        record[html_key] = html.removesuffix("\r\n")
    return head, record


def ruby_parse(body: bytes) -> dict[str, str]:
    return dict(RUBY_FIELD.findall(body.decode("cp932")))


def test_body_starts_with_crlf_and_result_comes_first() -> None:
    body = encode_response([("payment_id", "1"), ("result", "0")])
    assert body.startswith(b"\r\nresult=0\r\n")


def test_every_line_ends_with_crlf_and_there_is_no_bare_lf() -> None:
    body = encode_response([("result", "0"), ("payment_id", "123")])
    assert body.endswith(b"\r\n")
    assert body.count(b"\n") == body.count(b"\r\n") == body.count(b"\r")


def test_layout_of_a_simple_reply() -> None:
    body = encode_response([("result", "0"), ("response_code", ""), ("response_detail", "")])
    assert body == b"\r\nresult=0\r\nresponse_code=\r\nresponse_detail=\r\n"


def test_missing_response_code_and_detail_are_written_empty_after_result() -> None:
    body = encode_response([("payment_id", "9"), ("result", "0")])
    assert body == b"\r\nresult=0\r\nresponse_code=\r\nresponse_detail=\r\npayment_id=9\r\n"


def test_php_module_reads_result_code_detail_and_fields() -> None:
    fields = [*error_fields("P010", '"customer_tel"パラメータの値は不正な値です。'), ("x", "1")]
    head, record = php_parse(encode_response(fields))
    assert head == {
        "result": "1",
        "response_code": "P010",
        "response_detail": '"customer_tel"パラメータの値は不正な値です。',
    }
    assert record == {"x": "1"}


def test_ruby_gems_see_result_on_the_first_line() -> None:
    body = encode_response([("result", "0"), ("payment_id", "42"), ("trading_id", "")])
    assert ruby_parse(body) == {
        "result": "0",
        "response_code": "",
        "response_detail": "",
        "payment_id": "42",
        "trading_id": "",
    }


def test_values_are_written_raw_not_percent_encoded() -> None:
    body = encode_response([("result", "0"), ("acq_name", "ﾆｺｽ 50%&a=b")])
    assert "acq_name=ﾆｺｽ 50%&a=b\r\n".encode("cp932") in body


def test_value_may_contain_equals_sign_for_the_php_module() -> None:
    _, record = php_parse(encode_response([("result", "0"), ("url", "https://x/?a=1&b=2")]))
    assert record == {"url": "https://x/?a=1&b=2"}


def test_reply_is_windows_31j() -> None:
    body = encode_response([("result", "0"), ("acq_name", "ｼﾞｪｰｼｰﾋﾞｰ"), ("issur_name", "テスト")])
    assert "acq_name=ｼﾞｪｰｼｰﾋﾞｰ".encode("cp932") in body
    assert b"issur_name=\x83e\x83X\x83g\r\n" in body


def test_characters_windows_31j_cannot_carry_become_question_marks() -> None:
    assert b"cardholder_name=caf? ?\r\n" in encode_response(
        [("result", "0"), ("cardholder_name", "café 😀")]
    )


@pytest.mark.parametrize("value", ["a\r\nb", "a\nb", "a\rb"])
def test_line_breaks_inside_a_value_become_spaces(value: str) -> None:
    body = encode_response([("result", "0"), ("response_detail", value), ("x", "y")])
    assert b"response_detail=a b\r\nx=y\r\n" in body


def test_html_field_is_moved_last_and_starts_on_the_next_line() -> None:
    fields = [("result", "7"), ("out_acs_html", HTML), ("payment_id", "5"), ("trading_id", "t")]
    body = encode_response(fields)
    assert body.endswith(b"trading_id=t\r\nout_acs_html=\r\n" + HTML.encode("cp932") + b"\r\n")


def test_php_module_reads_the_html_field_whole() -> None:
    fields = [("result", "7"), ("out_acs_html", HTML), ("payment_id", "5")]
    head, record = php_parse(encode_response(fields))
    assert head["result"] == "7"
    # The module keeps the line break that ends the body; harmless at the end of an HTML page.
    assert record == {"payment_id": "5", "out_acs_html": HTML + "\r\n"}


def test_ruby_gems_still_see_result_and_other_fields_before_the_html() -> None:
    # Their regex wants the HTML on the `xxx_html=` line, which the PHP module forbids; the PHP
    # layout wins (spec §1.3), so the gems read an empty HTML field, as they do from PAYGENT.
    fields = [("result", "7"), ("out_acs_html", HTML), ("payment_id", "5")]
    parsed = ruby_parse(encode_response(fields))
    assert (parsed["result"], parsed["payment_id"], parsed["out_acs_html"]) == ("7", "5", "")


def test_empty_html_field_is_an_empty_last_line() -> None:
    body = encode_response([("result", "0"), ("out_acs_html", ""), ("payment_id", "1")])
    assert body.endswith(b"payment_id=1\r\nout_acs_html=\r\n")


def test_trailing_line_break_of_the_html_is_not_doubled() -> None:
    body = encode_response([("result", "0"), ("redirect_html", "<HTML></HTML>\r\n")])
    assert body.endswith(b"redirect_html=\r\n<HTML></HTML>\r\n")


def test_first_result_wins_when_given_twice() -> None:
    body = encode_response([("result", "1"), ("result", "0")])
    assert body.count(b"result=") == 1
    assert b"result=1" in body


def test_reply_without_result_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="result"):
        encode_response([("payment_id", "1")])


@pytest.mark.parametrize("name", ["", "a=b", "a\r\nb"])
def test_names_a_client_cannot_parse_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        encode_response([("result", "0"), (name, "v")])


def test_utf_8_reply_for_utf_8_kinds() -> None:
    body = encode_response_utf8([("result", "0"), ("cardholder_name", "テスト")])
    assert "cardholder_name=テスト\r\n".encode() in body


def test_content_types_name_the_charset() -> None:
    assert content_type() == "text/html; charset=Windows-31J"
    assert content_type("utf-8") == "text/html; charset=UTF-8"


def test_error_fields_list_every_empty_field() -> None:
    assert error_fields("2006", "none", ["payment_id", "trading_id"]) == [
        ("result", "1"),
        ("response_code", "2006"),
        ("response_detail", "none"),
        ("payment_id", ""),
        ("trading_id", ""),
    ]


def test_success_fields_fill_missing_values_with_empty_strings() -> None:
    assert success_fields(["payment_id", "acq_id"], {"payment_id": "7", "other": "x"}) == [
        ("result", "0"),
        ("response_code", ""),
        ("response_detail", ""),
        ("payment_id", "7"),
        ("acq_id", ""),
    ]


# --- CSV (027) ------------------------------------------------------------------------------------


def csv_records(body: bytes) -> list[list[str]]:
    """Split on CRLF first, as ReferenceResponseDataImpl does, then read each line as CSV."""
    lines = [line for line in body.decode("cp932").split("\r\n") if line]
    return [next(csv.reader(io.StringIO(line))) for line in lines]


def test_csv_error_reply_is_header_and_trailer_only() -> None:
    detail = "指定した顧客ID、顧客カードIDのカード情報はありません。"
    body = encode_csv_response(
        result="1", response_code="P026", response_detail=detail, columns=["a"], rows=[["x"]]
    )
    assert body == f'"1","1","P026","{detail}"\r\n"4","0"\r\n'.encode("cp932")


def test_csv_reply_with_rows_has_column_and_data_records() -> None:
    body = encode_csv_response(
        result="0",
        response_code="",
        response_detail="",
        columns=["customer_id", "card_brand"],
        rows=[["c1", "VISA"], ["c1", "JCB"]],
    )
    assert csv_records(body) == [
        ["1", "0", "", ""],
        ["2", "customer_id", "card_brand"],
        ["3", "c1", "VISA"],
        ["3", "c1", "JCB"],
        ["4", "2"],
    ]


def test_csv_success_without_rows_is_header_and_zero_trailer() -> None:
    body = encode_csv_response(
        result="0", response_code="", response_detail="", columns=["a"], rows=[]
    )
    assert body == b'"1","0","",""\r\n"4","0"\r\n'


def test_csv_every_field_is_quoted_and_quotes_are_doubled() -> None:
    body = encode_csv_response(
        result="0", response_code="", response_detail="", columns=["n"], rows=[['say "hi", ok']]
    )
    assert b'"3","say ""hi"", ok"\r\n' in body


def test_csv_line_breaks_inside_values_become_spaces() -> None:
    body = encode_csv_response(
        result="0", response_code="", response_detail="", columns=["n"], rows=[["a\r\nb"]]
    )
    assert b'"3","a b"\r\n' in body


def test_csv_is_windows_31j() -> None:
    body = encode_csv_response(
        result="0", response_code="", response_detail="", columns=["n"], rows=[["山田"]]
    )
    assert '"3","山田"'.encode("cp932") in body


def test_csv_row_of_the_wrong_width_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="columns"):
        encode_csv_response(
            result="0", response_code="", response_detail="", columns=["a", "b"], rows=[["x"]]
        )


# --- properties -----------------------------------------------------------------------------------

# Characters Windows-31J writes as a look-alike's code (〜 comes back as ～).
NOT_ROUND_TRIPPING = "¢£¬‖−〜"
one_line_text = st.text(
    st.characters(codec="cp932", exclude_characters="\r\n" + NOT_ROUND_TRIPPING), max_size=30
)
names = st.from_regex(r"[a-z][a-z0-9_]{0,19}", fullmatch=True).filter(
    lambda name: name not in HEAD and not name.endswith("_html")
)


@given(st.dictionaries(names, one_line_text, max_size=10), st.sampled_from(["0", "1", "7"]))
def test_any_fields_round_trip_through_the_php_module(fields: dict[str, str], result: str) -> None:
    head, record = php_parse(encode_response([("result", result), *fields.items()]))
    assert head == {"result": result, "response_code": "", "response_detail": ""}
    assert record == fields


@given(st.dictionaries(names, one_line_text, max_size=10))
def test_any_fields_round_trip_through_the_ruby_gems(fields: dict[str, str]) -> None:
    assume(not any("<!DOCTYPE" in value for value in fields.values()))
    parsed = ruby_parse(encode_response([("result", "0"), *fields.items()]))
    assert parsed == {"result": "0", "response_code": "", "response_detail": "", **fields}


@given(st.lists(st.lists(one_line_text, min_size=3, max_size=3), max_size=5))
def test_any_csv_rows_round_trip(rows: list[list[str]]) -> None:
    body = encode_csv_response(
        result="0", response_code="", response_detail="", columns=["a", "b", "c"], rows=rows
    )
    records = csv_records(body)
    assert [record[1:] for record in records if record[0] == "3"] == rows
    assert records[-1] == ["4", str(len(rows))]
