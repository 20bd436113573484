"""The simulated ACS in Chromium: out_acs_html leads the browser to the ACS without JavaScript, the
challenge form posts under the page's CSP, and the redirect brings the browser to term_url by GET
(Chromium checks form-action against redirects too). Any CSP violation fails the test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Page

from kessai.client import KessaiClient, verify_threeds_result
from tests.browser.conftest import ARTIFACTS
from tests.support.receiver import Receiver
from tests.support.servers import serve_app


@pytest.fixture
def term_url() -> Iterator[str]:
    merchant_side = Receiver()
    with serve_app(merchant_side.app) as base_url:
        yield base_url + "/term"


@pytest.mark.parametrize(("password", "result"), [("14012", "0"), ("14042", "1")])
def test_challenge_from_out_acs_html_to_term_url(
    page: Page, server, merchant, term_url, password, result
) -> None:
    with KessaiClient(
        server,
        merchant_id=merchant.merchant_id,
        connect_id=merchant.connect_id,
        connect_password=merchant.connect_password,
    ) as kessai:
        started = kessai.threeds_authenticate(
            term_url=term_url,
            merchant_name="テスト商店",
            payment_amount=5000,
            card_number="4900000000000000",
            card_valid_term="1230",
            cardholder_name="BAVCA",
        )
    assert started.out_acs_html
    page.set_content(started.out_acs_html)  # as the merchant's checkout prints it
    page.wait_for_url(re.compile(r".*/3ds/acs/.*"))
    assert page.get_by_text("5,000円").is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "threeds_challenge_page.png"), full_page=True)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(re.escape(term_url) + r"\?.*"))
    params = dict(parse_qsl(urlsplit(page.url).query))
    assert params["result"] == result
    assert verify_threeds_result(params, merchant.threeds_hash_key)
