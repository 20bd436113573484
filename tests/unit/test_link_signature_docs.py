"""docs/user/link-type.md's worked examples of both signature schemes are what the code gives: the
example's values, key, signed text and `hc` appear in the page exactly as computed here."""

from __future__ import annotations

from pathlib import Path

from kessai.client import link_hash as client_hash
from kessai.client import link_hmac as client_hmac
from kessai.core.link.hashing import (
    SIGNED_FIELDS,
    SIGNED_FIELDS_INFORM,
    hmac_message,
    link_hash,
    link_hmac,
)

DOC = (Path(__file__).parents[2] / "docs" / "user" / "link-type.md").read_text(encoding="utf-8")
KEY = "kessai-example-key-0123456789"


def test_the_hmac_example():
    fields = {
        "seq_merchant_id": "30001",
        "trading_id": "order1001",
        "id": "2980",
        "payment_type": "02,03",
        "payment_term_day": "3",
        "customer_id": "cust42",
        "stock_card_mode": "1",
        "return_url": "https://shop.example/thanks",
    }
    hc = link_hmac(fields, KEY)
    assert client_hmac(fields, KEY) == hc
    assert f"```\n{hmac_message(fields)}```" in DOC
    assert f"`hc` = `{hc}`" in DOC
    assert f"key `{KEY}`" in DOC


def test_the_paygent_example():
    fields = {
        "trading_id": "order1001",
        "payment_type": "02,03",
        "id": "2980",
        "seq_merchant_id": "30001",
        "payment_term_day": "3",
        "use_card_conf_number": "1",
    }
    text = "".join(fields.get(name, "") for name in SIGNED_FIELDS) + KEY
    hc = link_hash(fields, KEY)
    assert client_hash(fields, KEY, suffix=False) == hc
    assert f"`{text}` →\n`hc` = `{hc}`" in DOC


def test_the_paygent_example_with_inform_url():
    """§2.3 item 6: inform_url between id and seq_merchant_id, 12 values."""
    fields = {
        "trading_id": "order1001",
        "payment_type": "02,03",
        "id": "2980",
        "inform_url": "https://shop.example/usces-cart/",
        "seq_merchant_id": "30001",
        "payment_term_day": "3",
        "use_card_conf_number": "1",
    }
    text = "".join(fields.get(name, "") for name in SIGNED_FIELDS_INFORM) + KEY
    assert text.index(fields["inform_url"]) == len("order100102,032980")
    hc = link_hash(fields, KEY)
    assert client_hash(fields, KEY, suffix=False) == hc
    assert f"`{text}` →\n`hc` = `{hc}`" in DOC
