"""The SDK's notification receiver: `hc` (§1.6 vector), parsing, staleness, and the README example."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai import client
from kessai.client import (
    NOTICE_ACK,
    KessaiClientError,
    NoticeVerificationError,
    notice_hash,
    verify_notice,
)

README = Path(__file__).parents[2] / "README.md"
KEY = "abcdefg1234567"
VECTOR = {
    "payment_notice_id": "12345",
    "payment_id": "123456789",
    "trading_id": "TRADE12345",
    "payment_type": "02",
    "payment_amount": "1000",
}
VECTOR_HC = "6485eb02c7db9afccfe1076b740ffa87fc84f912aab24961153891e848b8cb8c"


def signed(encoding: str = "cp932", key: str = KEY, **extra: str) -> bytes:
    fields = {**VECTOR, "payment_status": "20", "change_date": "20260401120000", **extra}
    fields.setdefault("hc", notice_hash(fields, key))
    return "&".join(
        f"{name}={quote_plus(value, encoding=encoding)}" for name, value in fields.items()
    ).encode("ascii")


def test_hash_matches_the_published_vector():
    assert notice_hash(VECTOR, KEY) == VECTOR_HC


def test_verified_notice_is_typed_and_keeps_every_field():
    body = signed(acq_name="ﾃｽﾄ", hc=VECTOR_HC)
    notice = verify_notice(body, hash_key=KEY, headers={"Kessai-Payment-Seq": "3"})
    assert (notice.payment_notice_id, notice.payment_amount, notice.payment_seq) == (12345, 1000, 3)
    assert (notice.payment_id, notice.trading_id, notice.payment_status) == (
        "123456789",
        "TRADE12345",
        "20",
    )
    assert notice.change_date == datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
    assert notice.fields["acq_name"] == "ﾃｽﾄ"
    assert client.notices.NOTICE_ACK == NOTICE_ACK == b"result=0"


def test_utf8_body_is_read_when_declared():
    body = signed("utf-8", issur_name="三井住友")
    for kwargs in (
        {"content_type": "application/x-www-form-urlencoded; charset=UTF-8"},
        {"headers": {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}},
    ):
        assert verify_notice(body, hash_key=KEY, **kwargs).fields["issur_name"] == "三井住友"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (signed(hc="0" * 64), "hc does not match"),
        (signed(key="other-key"), "hc does not match"),
        (signed().replace(b"payment_amount=1000", b"payment_amount=9000"), "hc does not match"),
        (b"payment_notice_id=1&hc=ab", "lacks payment_id"),
        (signed(change_date="2026-04-01"), "malformed"),
        (b"payment_id=%82", "not a cp932 form"),
    ],
)
def test_untrustworthy_notifications_are_refused(body, message):
    with pytest.raises(NoticeVerificationError, match=message) as caught:
        verify_notice(body, hash_key=KEY)
    assert isinstance(caught.value, KessaiClientError)


def test_stale_notice_is_refused_only_with_max_age():
    body = signed()  # changed 2026-04-01 12:00 JST = 03:00 UTC
    fresh = datetime(2026, 4, 1, 3, 4, tzinfo=UTC)
    assert verify_notice(body, hash_key=KEY, max_age=timedelta(minutes=5), now=fresh)
    with pytest.raises(NoticeVerificationError, match="stale"):
        verify_notice(body, hash_key=KEY, max_age=timedelta(minutes=5), now=fresh + timedelta(2))
    assert verify_notice(body, hash_key=KEY, now=fresh + timedelta(days=30))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20))
def test_any_trading_id_round_trips_through_sign_and_verify(trading_id):
    body = signed("utf-8", trading_id=trading_id)
    notice = verify_notice(body, hash_key=KEY, content_type="text/plain; charset=utf-8")
    assert notice.trading_id == trading_id


def test_readme_receiver_example_acknowledges_a_signed_notice(monkeypatch):
    text = README.read_text(encoding="utf-8")
    section = text.split("## Receiving result notifications", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "README needs a python receiver example under the heading"
    monkeypatch.setenv("KESSAI_NOTIFICATION_HASH_KEY", KEY)
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(code.group(1), str(README), "exec"), namespace)
    receive = namespace["receive"]
    assert receive(signed(), {"Content-Type": "application/x-www-form-urlencoded"}) == (  # type: ignore[operator]
        200,
        NOTICE_ACK,
    )
    assert receive(signed(hc="0" * 64), {})[0] == 400  # type: ignore[operator]
