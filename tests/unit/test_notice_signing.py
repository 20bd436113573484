"""The `hc` of the difference notification push (paygent-protocol.md §1.6)."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from kessai.core.notifications.signing import notice_hash, push_form

VECTOR = {
    "payment_notice_id": "12345",
    "payment_id": "123456789",
    "trading_id": "TRADE12345",
    "payment_type": "02",
    "payment_amount": "1000",
}


def test_hc_matches_the_published_paygent_vector():
    assert (
        notice_hash(VECTOR, "abcdefg1234567")
        == "6485eb02c7db9afccfe1076b740ffa87fc84f912aab24961153891e848b8cb8c"
    )


def test_push_form_is_the_fields_plus_hc_and_nothing_else():
    form = push_form({**VECTOR, "payment_status": "20"}, "abcdefg1234567")
    assert form == {**VECTOR, "payment_status": "20", "hc": notice_hash(VECTOR, "abcdefg1234567")}


digits = st.text("0123456789", min_size=1, max_size=18)


@given(digits, digits, st.text("ABCxyz_09", max_size=25), digits, st.text(min_size=1, max_size=64))
def test_hc_is_sha256_of_the_concatenation_in_lowercase_hex(notice, payment, trading, amount, key):
    fields = {**VECTOR, "payment_notice_id": notice, "payment_id": payment}
    fields |= {"trading_id": trading, "payment_amount": amount, "status_ignored": "x"}
    material = notice + payment + trading + "02" + amount + key
    expected = hashlib.sha256(material.encode("cp932", errors="replace")).hexdigest()
    assert notice_hash(fields, key) == expected
    assert len(expected) == 64 and expected == expected.lower()


def test_fields_outside_the_hash_do_not_change_it():
    assert notice_hash({**VECTOR, "payment_status": "40"}, "k") == notice_hash(VECTOR, "k")
