"""A CVS payment and a card payment completed in w3m, a text browser with no CSS and no
JavaScript, driven from the test: the hosted page must be fully usable with plain HTML (forms,
labels, buttons; the CSRF cookie kept by the browser)."""

from __future__ import annotations

import pytest

from tests.support.link import open_page_url
from tests.support.link_page import OK_CARD, payments_of
from tests.support.paid_later import notice_statuses
from tests.support.w3m import W3m, require_w3m


@pytest.fixture
def w3m_home(tmp_path):
    require_w3m()
    return tmp_path / "w3m"


def test_cvs_payment_in_w3m(server, merchant, runtime, w3m_home):
    url = open_page_url(server, merchant, trading_id="W3CVS", amount=2400,
                        customer_family_name="山田", customer_name="太郎")  # fmt: skip
    browser = W3m(w3m_home, url)
    try:
        browser.wait_for("お支払い方法の選択")
        browser.press("コンビニ払い")
        browser.wait_for("コンビニでのお支払い")
        browser.fill("電話番号", "0312345678")
        browser.press("お支払い番号を発行する")
        screen = browser.wait_for("お支払い番号のお知らせ")
    finally:
        browser.close()
    [payment] = payments_of(runtime, merchant.merchant_id, "W3CVS")
    assert (payment.payment_type, payment.amount, payment.status) == ("03", 2400, "10")
    assert payment.details["receipt_number"] in screen
    assert "セブン-イレブン" in screen and "2,400円" in screen
    assert notice_statuses(runtime, merchant) == ["10"]


def test_card_payment_in_w3m(server, merchant, runtime, w3m_home):
    url = open_page_url(server, merchant, trading_id="W3CARD", amount=3980, threedsecure_ryaku="1")
    browser = W3m(w3m_home, url)
    try:
        browser.wait_for("お支払い方法の選択")
        browser.press("クレジットカード")
        browser.wait_for("クレジットカードでのお支払い")
        browser.fill("カード番号", OK_CARD)
        browser.pick("有効期限", 12)  # "--", 01 … 12
        browser.pick("年", 5)  # "----", this year … this year + 4
        browser.fill("カード名義", "TARO YAMADA")
        browser.press("を支払う")
        screen = browser.wait_for("お支払いが完了しました")
    finally:
        browser.close()
    [payment] = payments_of(runtime, merchant.merchant_id, "W3CARD")
    assert (payment.payment_type, payment.amount, payment.status) == ("02", 3980, "20")
    assert str(payment.id) in screen and "購入したサイトに戻る" in screen
    assert notice_statuses(runtime, merchant) == ["20"]


def test_card_payment_through_a_3ds_challenge_in_w3m(server, merchant, runtime, w3m_home):
    url = open_page_url(server, merchant, trading_id="W3DS", amount=1200, threedsecure_ryaku="0")
    browser = W3m(w3m_home, url)
    try:
        browser.wait_for("お支払い方法の選択")
        browser.press("クレジットカード")
        browser.wait_for("クレジットカードでのお支払い")
        browser.fill("カード番号", OK_CARD)
        browser.pick("有効期限", 12)
        browser.pick("年", 5)
        browser.fill("カード名義", "BAVCA")  # the sandbox ACS asks for a password
        browser.press("を支払う")
        browser.wait_for("Cardholder authentication")
        browser.fill_password("パスワード", "14012")
        browser.press("認証する")
        screen = browser.wait_for("お支払いが完了しました")
    finally:
        browser.close()
    [payment] = payments_of(runtime, merchant.merchant_id, "W3DS")
    assert (payment.amount, payment.status) == (1200, "20")
    assert payment.details["3dsecure_message_version"].startswith("2.")
    assert str(payment.id) in screen
