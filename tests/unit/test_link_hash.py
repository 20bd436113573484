"""The link type's `hc`: §2.3's published vectors, the random suffix, what is not signed; the canonical
forms checked before any hash; the hmac message reading back as exactly its fields; and on the
paygent scheme, no re-cut of the signed tail that stores cards or skips 3-D Secure."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.client import link_hmac as client_hmac
from kessai.core.link.hashing import (
    HMAC_FIELDS,
    SIGNED_FIELDS,
    SIGNED_FIELDS_INFORM,
    hash_matches,
    hmac_message,
    link_hash,
    link_hmac,
    signature_matches,
)
from kessai.core.link.params import check_canonical
from kessai.core.link.requests import check_scheme_rules
from kessai.kit.errors import InvalidRequest


def test_hash_kit_vector():
    # [HASH-KIT]: 444444 01,02,03 customer_family_name 1000 999999 5 10 cust001 + abc123
    fields = {
        "trading_id": "444444",
        "payment_type": "01,02,03",
        "fix_params": "customer_family_name",
        "id": "1000",
        "seq_merchant_id": "999999",
        "payment_term_day": "5",
        "payment_class": "1",
        "use_card_conf_number": "0",
        "customer_id": "cust001",
    }
    assert (
        link_hash(fields, "abc123")
        == "8e59c25df491f2f42d1c8b11196d6b33397055560d893134cfb5a6e2b863d439"
    )


def test_link_spec_vector():
    fields = {
        "trading_id": "TRD123",
        "payment_type": "01,02,03",
        "id": "1500",
        "seq_merchant_id": "10000",
        "payment_term_day": "7",
        "payment_class": "0",
        "use_card_conf_number": "1",
        "merchant_name": "not signed",
    }
    assert (
        link_hash(fields, "abcdefg1234567")
        == "1b365907c9d51d9e92d875a00eb20fd5b21e53c799dc2d0e818ad0c748a36c66"
    )


FIELDS = {"trading_id": "T1", "id": "1000", "seq_merchant_id": "10000"}


def test_a_random_hex_suffix_of_up_to_20_characters_is_accepted():
    h = link_hash(FIELDS, "key")
    assert hash_matches(FIELDS, "key", h)
    assert hash_matches(FIELDS, "key", h + "aF09" * 5)
    assert not hash_matches(FIELDS, "key", h + "a" * 21)
    assert not hash_matches(FIELDS, "key", h + "g")
    assert not hash_matches(FIELDS, "key", h.upper())
    assert not hash_matches(FIELDS, "key", h[:63])


@given(name=st.sampled_from(SIGNED_FIELDS), value=st.text("0123456789abc,", min_size=1, max_size=8))
def test_changing_any_signed_field_breaks_the_hash(name, value):
    changed = {**FIELDS, name: FIELDS.get(name, "") + value}
    assert not hash_matches(changed, "key", link_hash(FIELDS, "key"))


def test_unsigned_fields_and_the_key_matter_as_documented():
    h = link_hash(FIELDS, "key")
    assert hash_matches({**FIELDS, "merchant_name": "x", "return_url": "y"}, "key", h)
    assert not hash_matches(FIELDS, "other", h)


# ---------------------------------------------------------------- canonical forms and the hmac scheme


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("seq_merchant_id", "041001"),
        ("seq_merchant_id", "+41001"),
        ("seq_merchant_id", "４１００１"),
        ("seq_merchant_id", "4১001"),  # a Bengali digit
        ("id", "01"),
        ("id", "-1"),
        ("id", " 1"),
        ("id", "1_000"),
        ("payment_type", "2"),
        ("payment_type", ",02"),
        ("payment_type", "02,"),
        ("payment_type", "02,,03"),
        ("payment_type", "02,02"),
        ("payment_type", "99"),
        ("fix_params", "customer_name,customer_name"),
        ("fix_params", "customer_age"),
        ("payment_term_day", "07"),
        ("payment_term_day", "100"),
        ("payment_term_min", "030"),
        ("payment_term_min", "30000"),
        ("payment_class", "3"),
        ("use_card_conf_number", "2"),
        ("threedsecure_ryaku", "01"),
        ("customer_id", "ｃｕｓｔ"),
        ("return_url", "https://a.example/\nid=1"),
    ],
)
def test_a_signed_value_in_another_form_is_refused_with_6005(name, value):
    with pytest.raises(InvalidRequest) as refused:
        check_canonical({name: value}, (name,))
    assert (refused.value.code, refused.value.field) == ("6005", name)


@pytest.mark.parametrize(
    ("name", "value"),
    [("id", "0"), ("id", "1500"), ("seq_merchant_id", "41001"), ("payment_type", "02,03,26"),
     ("payment_term_day", "0"), ("payment_term_min", "2880"), ("customer_id", "cust-01_a")],
)  # fmt: skip
def test_canonical_values_pass(name, value):
    check_canonical({name: value}, (name,))


def test_hmac_vector_and_the_client_agrees():
    fields = {"seq_merchant_id": "30001", "trading_id": "T1", "id": "1500"}
    assert link_hmac(fields, "key") == client_hmac(fields, "key")
    assert signature_matches(fields, "key", "hmac", link_hmac(fields, "key"))
    # hmac's hc is exactly 64 lowercase hex characters: no suffix, no other case.
    assert not signature_matches(fields, "key", "hmac", link_hmac(fields, "key") + "a")
    assert not signature_matches(fields, "key", "hmac", link_hmac(fields, "key").upper())
    assert not signature_matches(fields, "key", "hmac", link_hash(fields, "key"))


_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=6)


def _parse(message: str) -> dict[str, str]:
    """The one reading of an hmac message: a line per field, its value after `name=`."""
    lines = message.split("\n")
    assert lines[-1] == "" and len(lines) == len(HMAC_FIELDS) + 2
    values = {}
    for name, line in zip(HMAC_FIELDS, lines[1:-1], strict=True):
        assert line.startswith(name + "=")
        values[name] = line[len(name) + 1 :]
    return values


@given(st.dictionaries(st.sampled_from(HMAC_FIELDS), _VALUE))
def test_the_hmac_message_reads_back_as_exactly_its_fields(fields):
    """No two requests (absent = empty) give one message: the message parses back to them."""
    expected = {name: fields.get(name, "") for name in HMAC_FIELDS}
    assert _parse(hmac_message(fields)) == expected


TAIL = ("payment_class", "use_card_conf_number", "customer_id", "threedsecure_ryaku")


def _recuts(text: str) -> list[dict[str, str]]:
    """Every way to cut `text` into the four tail fields of §2.3, each empty or canonical."""
    found = []
    for cuts in itertools.combinations_with_replacement(range(len(text) + 1), len(TAIL) - 1):
        bounds = (0, *cuts, len(text))
        values = {name: text[a:b] for name, a, b in zip(TAIL, bounds, bounds[1:], strict=False)}
        try:
            check_canonical(values, TAIL)
        except InvalidRequest:
            continue
        found.append(values)
    return found


@given(
    payment_class=st.sampled_from(["", "0", "1", "2"]),
    conf=st.sampled_from(["", "0", "1"]),
    customer_id=st.sampled_from(["", "1", "10", "101", "c1"]),
    ryaku=st.sampled_from(["", "0"]),
    stock=st.sampled_from(["", "0", "1", "2"]),
)
def test_on_paygent_no_recut_uses_stored_cards_or_skips_3ds(
    payment_class, conf, customer_id, ryaku, stock
):
    """Whatever a shop on paygent signed, and however a buyer re-cuts it (adding the unsigned
    stock_card_mode as they like), a request the rules let through neither keeps nor uses stored
    cards nor skips 3-D Secure."""
    text = payment_class + conf + customer_id + ryaku
    for recut in _recuts(text):
        fields = {**recut, "stock_card_mode": stock}
        try:
            check_scheme_rules(fields, "paygent")
        except InvalidRequest:
            continue
        assert fields["threedsecure_ryaku"] != "1"
        assert fields["stock_card_mode"] in ("", "0")


# --- inform_url (§2.3 item 6, issue #19) -------------------------------------------------------


def _twelve(fields: dict[str, str]) -> str:
    return "".join(fields.get(name, "") for name in SIGNED_FIELDS_INFORM)


def test_with_inform_url_the_hash_is_over_12_values_and_without_it_over_11():
    base = {"trading_id": "T1", "id": "1500", "seq_merchant_id": "30001"}
    key = "k"
    with_url = {**base, "inform_url": "https://shop.example/cart/"}
    assert (
        link_hash(with_url, key)
        == hashlib.sha256(b"T11500https://shop.example/cart/30001k").hexdigest()
    )
    assert link_hash(base, key) == hashlib.sha256(b"T1150030001k").hexdigest()
    assert link_hash({**base, "inform_url": ""}, key) == link_hash(base, key)
    # One form per request, never both tried: the 11-value hash does not sign it with the field.
    assert not hash_matches(with_url, key, link_hash(base, key))


@given(
    amount=st.from_regex(r"[1-9][0-9]{0,6}", fullmatch=True),
    url=st.from_regex(r"https?://shop\.example/[a-z0-9/]{0,8}", fullmatch=True),
    merchant=st.from_regex(r"[1-9][0-9]{0,8}", fullmatch=True),
)
def test_no_recut_moves_characters_into_or_out_of_inform_url(amount, url, merchant):
    """No split of `id + inform_url + seq_merchant_id` into canonical values moves a character
    between `id` and `inform_url`; only the end of the URL can trade digits with
    `seq_merchant_id`, which then names another merchant, whose key is another."""
    text = amount + url + merchant
    for i in range(1, len(text)):
        for j in range(i, len(text)):
            cut = {"id": text[:i], "inform_url": text[i:j], "seq_merchant_id": text[j:]}
            try:
                check_canonical(cut, ("id", "inform_url", "seq_merchant_id"))
            except InvalidRequest:
                continue
            if not cut["inform_url"]:
                continue  # the 11-value form: id and seq_merchant_id are digits, the URL is not
            assert cut["id"] == amount  # nothing crosses between id and inform_url
