"""The link type's `hc` (§2.3): the published vectors, the random suffix, what is not signed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kessai.core.link.hashing import SIGNED_FIELDS, hash_matches, link_hash


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
