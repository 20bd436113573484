"""The telegram hash check's pure parts: the hash (the guide's worked example), the request_date
window, the key overlap, the canonical signature of a telegram, the IP allow-list."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.client._telegram import telegram_hash as client_hash
from kessai.core.merchants.access import address_allowed, check_paths, normalise_allow_list
from kessai.core.merchants.telegram_hash import (
    WINDOW,
    TelegramKeys,
    check_window,
    hash_matches,
    request_instant,
    telegram_hash,
)
from kessai.kit.clock import JST
from kessai.kit.errors import AuthError, InvalidRequest
from kessai.web.module.access import client_address
from kessai.web.module.hashcheck import SHAPES, signature
from kessai.web.module.specs import REQUEST_SPECS
from tests.support.hashcheck import plugin_hash

KEY = "TelegramHashKey0123456789abcdefg"
EXAMPLE = {
    "merchant_id": "30001",
    "connect_id": "k30001a1b2c3d4",
    "connect_password": "Pass0123456789abcdefABCDEF012345",
    "telegram_kind": "020",
    "telegram_version": "1.0",
    "trading_id": "wc_1001",
    "payment_id": "",
    "payment_amount": "1500",
    "request_date": "20261204183000",
}
# docs/user/module-type.md, "Worked example" (checked with sha256sum as well).
EXAMPLE_HC = "7e94a245f9875b9f2fa7bba7a8eb78cb53a284d8d775547f2d1b85e9ddfa6593"


def test_the_guides_worked_example():
    parts = [EXAMPLE[name] for name in EXAMPLE]
    assert telegram_hash(parts, KEY) == EXAMPLE_HC
    assert client_hash(EXAMPLE, KEY) == EXAMPLE_HC


def test_the_guides_follow_up_example():
    fields = {**EXAMPLE, "telegram_kind": "022", "payment_id": "1234", "payment_amount": ""}
    fields["request_date"] = "20261204183500"
    assert client_hash(fields, KEY) == (
        "353c2145b66d56b63931d14c3be247138417e00be4c5aa7e73dbe112fcd96707"
    )


def test_the_guides_immediate_sale_example():
    """The plugin's 022 by trading_id with the 020's payment_amount: the server signs the same."""
    fields = {**EXAMPLE, "telegram_kind": "022", "request_date": "20261204183005"}
    expected = "f0de84ee79a2d6d33c401af086f92fee27c846b84bc0e0d8f589af988917cb83"
    assert client_hash(fields, KEY) == expected
    raw = {**fields, "hc": expected}
    signed = signature("022", raw, {"trading_id": "wc_1001", "payment_id": ""})
    assert telegram_hash(signed.parts, KEY) == expected


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("022", {"trading_id": "wc_7", "payment_amount": "1500"}),
        ("022", {"trading_id": "wc_7"}),
        ("028", {"trading_id": "wc_7", "payment_amount": "400", "reduction_flag": "1"}),
        ("029", {"trading_id": "wc_7", "payment_id": "12", "payment_amount": "400"}),
        ("450", {"trading_id": "wc_7", "payment_id": "", "payment_amount": "1500.00"}),
        ("450", {"trading_id": "wc_7", "payment_amount": "1500.0"}),
    ],
)
def test_each_optional_part_is_signed_exactly_when_sent(kind, fields):
    """PAYGENT's formula, as the plugin computes it (tests/support/hashcheck.py)."""
    raw = raw_for(kind, **fields, request_date="20261204183000")
    raw["hc"] = plugin_hash(raw, KEY)
    checked = {name: raw.get(name, "") for name in ("trading_id", "payment_id", "payment_amount")}
    assert telegram_hash(signature(kind, raw, checked).parts, KEY) == raw["hc"]


def test_request_date_is_japan_time():
    assert request_instant("20261204183000") == datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("date", ["20261304120000", "20260230120000", "20261204240000"])
def test_request_date_naming_no_time_is_refused(date):
    with pytest.raises(InvalidRequest) as refused:
        request_instant(date)
    assert (refused.value.code, refused.value.field) == ("P010", "request_date")


# hypothesis draws naive datetimes between naive bounds; the test gives them Japan's zone.
NAIVE_FROM, NAIVE_TO = datetime(2001, 1, 1), datetime(2099, 12, 31)  # noqa: DTZ001


@given(st.datetimes(min_value=NAIVE_FROM, max_value=NAIVE_TO))
def test_request_date_round_trips(moment):
    stamp = moment.replace(microsecond=0, tzinfo=JST)
    assert request_instant(stamp.strftime("%Y%m%d%H%M%S")) == stamp.astimezone(UTC)


def test_window_is_inclusive_both_ways():
    now = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    check_window(now - WINDOW, now)
    check_window(now + WINDOW, now)
    for outside in (now - WINDOW - timedelta(seconds=1), now + WINDOW + timedelta(seconds=1)):
        with pytest.raises(InvalidRequest):
            check_window(outside, now)


def test_previous_key_is_valid_until_its_overlap_ends():
    until = datetime(2026, 12, 5, tzinfo=UTC)
    keys = TelegramKeys("new", "old", until)
    parts = ["a", "b"]
    old_hc = telegram_hash(parts, "old")
    assert hash_matches(parts, old_hc, keys, until - timedelta(seconds=1))
    assert not hash_matches(parts, old_hc, keys, until)
    assert hash_matches(parts, telegram_hash(parts, "new"), keys, until)


def raw_for(kind: str, **fields: str) -> dict[str, str]:
    header = {name: EXAMPLE[name] for name in ("merchant_id", "connect_id", "connect_password")}
    return {**header, "telegram_kind": kind, "telegram_version": "1.0", **fields}


def test_every_kind_has_a_shape_and_amount_kinds_sign_their_amount():
    assert set(SHAPES) == set(REQUEST_SPECS)
    assert SHAPES["020"].amount == "payment_amount" and SHAPES["060"].amount == "amount"
    assert SHAPES["070"].amount is None and SHAPES["021"].amount is None
    assert SHAPES["022"].amount == "payment_amount"  # the plugin's immediate sale; not used
    assert SHAPES["450"].decimals and not SHAPES["020"].decimals
    assert SHAPES["021"].payment_id == "required" and SHAPES["020"].payment_id == "forbidden"
    assert {SHAPES[kind].payment_id for kind in ("022", "028", "029", "094")} == {"either"}


def test_signature_parts_are_the_canonical_fields():
    raw = raw_for("020", trading_id="wc_1001", payment_amount="1500")
    raw |= {"request_date": "20261204183000", "hc": EXAMPLE_HC}
    fields = {"trading_id": "wc_1001", "payment_id": "", "payment_amount": "1500"}
    signed = signature("020", raw, fields)
    assert telegram_hash(signed.parts, KEY) == EXAMPLE_HC


@pytest.mark.parametrize(
    ("merchant_id", "error"), [("030001", AuthError), ("+30001", AuthError), ("３0001", AuthError)]
)
def test_non_canonical_merchant_id_is_refused_before_the_hash(merchant_id, error):
    raw = raw_for("094", request_date="20261204183000", hc="0" * 64)
    raw["merchant_id"] = merchant_id
    with pytest.raises(error):
        signature("094", raw, {"trading_id": "", "payment_id": ""})


def test_allow_list_is_stored_canonically_and_refuses_host_bits():
    assert normalise_allow_list(["203.0.113.7, 2001:DB8::/32", "203.0.113.7"]) == (
        "203.0.113.7/32 2001:db8::/32"
    )
    with pytest.raises(InvalidRequest):
        normalise_allow_list(["10.0.0.1/24"])
    with pytest.raises(InvalidRequest):
        normalise_allow_list(["example.com"])


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("203.0.113.200", True),
        ("::ffff:203.0.113.200", True),  # an IPv4 client on a dual-stack socket
        ("2001:db8:1::5", True),
        ("198.51.100.1", False),
        ("2001:db9::1", False),
        ("not-an-address", False),
    ],
)
def test_addresses_against_the_list(address, allowed):
    assert address_allowed(address, ["203.0.113.0/24", "2001:db8::/32"]) is allowed


def test_paths_choice():
    assert check_paths(["s", "n"]) == "n,s"
    with pytest.raises(InvalidRequest):
        check_paths(["x"])
    with pytest.raises(InvalidRequest):
        check_paths([])


def test_forwarded_address_is_believed_only_from_a_trusted_proxy():
    trusted = (ipaddress.ip_network("10.0.0.0/8"),)
    headers = {"x-forwarded-for": "198.51.100.9, 203.0.113.5"}
    assert client_address({"client": ("10.1.2.3", 1)}, headers, trusted) == "203.0.113.5"
    assert client_address({"client": ("192.0.2.1", 1)}, headers, trusted) == "192.0.2.1"
    assert client_address({"client": ("10.1.2.3", 1)}, headers, ()) == "10.1.2.3"
