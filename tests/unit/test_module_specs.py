"""The card telegrams' field specs and the kind → path table (spec §1.1, §1.2, §1.5)."""

from __future__ import annotations

import pytest

from kessai.kit.errors import InvalidRequest
from kessai.web.module.codec import decode_request
from kessai.web.module.fields import FieldSpec, Required, check_field, present, validate
from kessai.web.module.specs import (
    COMMON_HEADER,
    KIND_PATHS,
    KNOWN_PATHS,
    REQUEST_SPECS,
    RESPONSE_FIELDS,
    STORED_CARD_CSV_COLUMNS,
    path_for_kind,
    path_matches_kind,
    stored_card_csv_columns,
)

HEADER = {
    "merchant_id": "123456789",
    "connect_id": "test123",
    "connect_password": "Passw0rd",
    "telegram_version": "1.0",
    "trading_id": "",
    "payment_id": "",
}


def request(kind: str, **fields: str) -> dict[str, str]:
    return {**HEADER, "telegram_kind": kind, **fields}


def error_of(kind: str, **fields: str) -> tuple[str, str | None]:
    with pytest.raises(InvalidRequest) as caught:
        validate(request(kind, **fields), REQUEST_SPECS[kind])
    return caught.value.code, caught.value.field


# --- request specs --------------------------------------------------------------------------------


def test_every_kind_starts_with_the_common_header() -> None:
    payment_kinds = {kind: specs for kind, specs in REQUEST_SPECS.items() if kind != "091"}
    assert all(specs[: len(COMMON_HEADER)] == COMMON_HEADER for specs in payment_kinds.values())


def test_091_checks_the_header_but_ignores_trading_id_and_payment_id() -> None:
    names = [spec.name for spec in REQUEST_SPECS["091"]]
    header = [spec.name for spec in COMMON_HEADER if spec.name not in ("trading_id", "payment_id")]
    assert names == [*header, "payment_notice_id", "site_id"]


def test_the_offered_kinds_are_all_specified() -> None:
    expected = {
        "010",
        "050",
        "060",
        "020",
        "021",
        "022",
        "023",
        "025",
        "026",
        "027",
        "028",
        "029",
        "030",
        "070",
        "040",
        "091",
        "094",
        "116",
        "100",
        "101",
        "102",
        "103",
        "104",
        "105",
        "450",
        "200",
        "201",
    }
    assert set(REQUEST_SPECS) == expected


@pytest.mark.parametrize("kind", sorted(REQUEST_SPECS))
def test_no_field_is_specified_twice(kind: str) -> None:
    names = [field.name for field in REQUEST_SPECS[kind]]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "field", [f for specs in REQUEST_SPECS.values() for f in specs if f.choices], ids=str
)
def test_every_choice_passes_its_own_class_and_length(field: FieldSpec) -> None:
    assert all(check_field(field, choice) == choice for choice in field.choices)


def test_header_only_void_request_from_the_php_module_validates() -> None:
    checked = validate(request("021", payment_id="12345"), REQUEST_SPECS["021"])
    assert checked["payment_id"] == "12345"
    assert checked["telegram_version"] == "1.0"


def test_authorise_request_as_woocommerce_sends_it_validates() -> None:
    fields = request(
        "020",
        trading_id="wc_1234",
        payment_amount="1500",
        security_code_use="1",
        **{"3dsecure_ryaku": "1"},
        card_token="tok_aaaabbbbccccdddd",
        payment_class="10",
        split_count="1",
        limit_count="2000",
    )
    checked = validate(fields, REQUEST_SPECS["020"])
    assert (checked["payment_amount"], checked["card_number"], checked["sales_mode"]) == (
        "1500",
        "",
        "",
    )


def test_authorise_without_amount_answers_p005() -> None:
    assert error_of("020") == ("P005", "payment_amount")


def test_authorise_amount_over_seven_digits_answers_p009() -> None:
    assert error_of("020", payment_amount="10000000") == ("P009", "payment_amount")


def test_authorise_with_full_width_card_number_answers_p008() -> None:
    assert error_of("020", payment_amount="1", card_number="４１１１１１１１１１１１１１１１") == (
        "P008",
        "card_number",
    )


def test_authorise_with_unknown_payment_class_answers_p010() -> None:
    assert error_of("020", payment_amount="1", payment_class="11") == ("P010", "payment_class")


def test_header_errors_come_before_body_errors() -> None:
    assert error_of("020", merchant_id="12345678X") == ("P008", "merchant_id")


def test_trading_id_with_a_hyphen_answers_p008() -> None:
    assert error_of("022", trading_id="wc-1") == ("P008", "trading_id")


def test_correction_needs_a_reduction_flag_of_0_or_1() -> None:
    assert error_of("028", payment_amount="100") == ("P005", "reduction_flag")
    assert error_of("029", payment_amount="100", reduction_flag="2") == ("P010", "reduction_flag")


def test_stored_card_telegrams_need_a_customer_id() -> None:
    for kind in ("025", "026", "027", "116"):
        assert error_of(kind, customer_card_id="1") == ("P005", "customer_id")


def test_stored_card_update_needs_a_customer_card_id() -> None:
    assert error_of("116", customer_id="c_1") == ("P005", "customer_card_id")


def test_stored_card_update_tells_cleared_fields_from_untouched_ones() -> None:
    raw = decode_request(
        body=b"telegram_kind=116&customer_id=c_1&customer_card_id=5&add_info1=&cardholder_name=TARO",
        query=b"",
        content_type=None,
        path="/n/card/request",
    )
    checked = validate({**HEADER, **raw}, REQUEST_SPECS["116"])
    changes = {
        name: checked[name]
        for name in ("cardholder_name", "add_info1", "add_info2", "card_valid_term")
        if present(raw, name)
    }
    assert changes == {"add_info1": "", "cardholder_name": "TARO"}


def test_cardholder_name_refuses_full_width_letters() -> None:
    assert error_of("025", customer_id="c_1", cardholder_name="ＴＡＲＯ") == (
        "P008",
        "cardholder_name",
    )


def test_add_info_counts_windows_31j_bytes() -> None:
    assert error_of("025", customer_id="c_1", add_info1="あ" * 33) == ("P009", "add_info1")
    assert validate(request("025", customer_id="c_1", add_info1="あ" * 32), REQUEST_SPECS["025"])


def test_inquiry_payment_type_is_two_digits() -> None:
    assert error_of("094", payment_type="002") == ("P009", "payment_type")


def test_conditional_fields_are_left_to_the_handler() -> None:
    conditional = {f.name for f in REQUEST_SPECS["020"] if f.required is Required.CONDITIONAL}
    assert {"trading_id", "payment_id", "card_number", "card_valid_term"} <= conditional


# --- responses ------------------------------------------------------------------------------------


def test_authorise_reply_lists_the_card_fields_with_the_html_last() -> None:
    names = RESPONSE_FIELDS["020"]
    assert names[:2] == ("payment_id", "trading_id")
    assert names[-1] == "out_acs_html"
    assert {"masked_card_number", "fingerprint", "k_card_name"} <= set(names)


def test_void_capture_and_cancel_reply_with_the_authorise_names() -> None:
    assert RESPONSE_FIELDS["021"] == RESPONSE_FIELDS["022"] == RESPONSE_FIELDS["023"]
    assert RESPONSE_FIELDS["021"] == RESPONSE_FIELDS["020"]


def test_correction_reply_adds_the_base_payment_and_reduced_amount() -> None:
    names = RESPONSE_FIELDS["028"]
    assert set(names) == {*RESPONSE_FIELDS["020"], "base_payment_id", "reduced_amount"}
    assert RESPONSE_FIELDS["029"] == names


def test_inquiry_reply_keeps_the_protocol_spelling_of_authrized_number() -> None:
    assert "authrized_number" in RESPONSE_FIELDS["094"]
    assert len(RESPONSE_FIELDS["094"]) == len(set(RESPONSE_FIELDS["094"]))


def test_no_reply_repeats_the_result_head() -> None:
    head = {"result", "response_code", "response_detail"}
    assert all(not head & set(names) for names in RESPONSE_FIELDS.values())


def test_stored_card_csv_adds_fingerprint_only_when_asked() -> None:
    assert stored_card_csv_columns(with_fingerprint=False) == STORED_CARD_CSV_COLUMNS
    assert stored_card_csv_columns(with_fingerprint=True)[-1] == "fingerprint"
    assert STORED_CARD_CSV_COLUMNS[:2] == ("customer_id", "customer_card_id")


# --- paths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("010", "/n/atm/request"),
        ("020", "/n/card/request"),
        ("027", "/n/card/request"),
        ("116", "/n/card/request"),
        ("183", "/n/card/request"),
        ("282", "/n/card/request"),
        ("096", "/n/card/request"),
        ("030", "/n/conveni/request"),
        ("040", "/n/conveni/request_print"),
        ("060", "/n/bank/requestasp"),
        ("070", "/n/virtualaccount/request"),
        ("090", "/n/ref/request"),
        ("091", "/n/ref/paynotice"),
        ("094", "/n/ref/paymentref"),
        ("098", "/n/token/request"),
        ("100", "/n/c/request"),
        ("121", "/n/c/request"),
        ("150", "/n/emoney/request"),
        ("201", "/n/o/requestdata"),
        ("260", "/n/accounttransfer/request"),
        ("264", "/n/accounttransfer/receipt"),
        ("420", "/n/paypay/request"),
        ("450", "/n/threeds/request"),
    ],
)
def test_path_for_kind_looks_up_the_full_kind_then_its_prefix(kind: str, path: str) -> None:
    assert path_for_kind(kind) == path


@pytest.mark.parametrize("kind", ["999", "170", "", "02", "0200"])
def test_path_for_unknown_kind_is_none(kind: str) -> None:
    assert path_for_kind(kind) is None


def test_kind_paths_cover_every_specified_kind() -> None:
    assert set(KIND_PATHS) == set(REQUEST_SPECS)
    assert KIND_PATHS["094"] == "/n/ref/paymentref"
    assert KIND_PATHS["091"] == "/n/ref/paynotice"
    assert KIND_PATHS["010"] == "/n/atm/request"
    assert KIND_PATHS["030"] == "/n/conveni/request"
    assert KIND_PATHS["040"] == "/n/conveni/request_print"
    assert KIND_PATHS["050"] == "/n/bank/request"
    assert KIND_PATHS["060"] == "/n/bank/requestasp"
    assert KIND_PATHS["070"] == "/n/virtualaccount/request"
    carrier_kinds = {"100", "101", "102", "103", "104", "105"}
    assert {KIND_PATHS[kind] for kind in carrier_kinds} == {"/n/c/request"}
    assert KIND_PATHS["450"] == "/n/threeds/request"
    assert KIND_PATHS["200"] == KIND_PATHS["201"] == "/n/o/requestdata"
    card_kinds = (
        set(REQUEST_SPECS)
        - {"010", "030", "040", "050", "060", "070", "091", "094", "450", "200", "201"}
        - carrier_kinds
    )
    assert {KIND_PATHS[kind] for kind in card_kinds} == {"/n/card/request"}


def test_known_paths_include_card_and_inquiry() -> None:
    assert {"/n/card/request", "/n/ref/paymentref"} <= KNOWN_PATHS


@pytest.mark.parametrize(
    ("path", "kind", "matches"),
    [
        ("/n/card/request", "020", True),
        ("/s/card/request", "020", True),
        ("/n/card/request/", "022", True),
        ("/n/ref/paymentref", "020", False),
        ("/n/card/request", "094", False),
        ("/n/card/request", "999", False),
    ],
)
def test_path_matches_kind(path: str, kind: str, matches: bool) -> None:
    assert path_matches_kind(path, kind) is matches
