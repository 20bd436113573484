"""The hosted payment page in Chromium, at a desktop and a phone viewport: every method from the
menu to its end page, with the payment checked in the database and a notice written. Any CSP
violation or script error fails the test; each flow's last screen is kept as
test-artifacts/link/<flow>-<viewport>.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, expect

from kessai.core.context import MerchantRef
from kessai.core.payments.atm import commands as atm
from tests.support.link import open_page_url
from tests.support.link_page import OK_CARD, payments_of
from tests.support.paid_later import notice_statuses

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "link"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}
SHOP = "https://shop.example"
_EXPECTED_STATUS = re.compile(
    r"Failed to load resource: the server responded with a status of 40[03]"
)


class Buyer:
    """A Chromium tab on the page, its console errors collected (CSP violations show there)."""

    def __init__(self, context: BrowserContext, viewport: str) -> None:
        self.context = context
        self.viewport = viewport
        self.tab = context.new_page()
        self.problems: list[str] = []
        self.tab.on("console", self._console)
        self.tab.on("pageerror", lambda e: self.problems.append(str(e)))
        # The shop's pages: answered here (no network), so leaving for them can be seen.
        context.route(
            f"{SHOP}/**", lambda route: route.fulfill(body="the shop", content_type="text/plain")
        )

    def _console(self, message: ConsoleMessage) -> None:
        # A form sent back with a problem answers 400/403 on purpose; Chromium logs that status.
        if message.type == "error" and not _EXPECTED_STATUS.match(message.text):
            self.problems.append(message.text)

    def shot(self, flow: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.tab.screenshot(path=str(ARTIFACTS / f"{flow}-{self.viewport}.png"), full_page=True)

    def fits(self) -> None:
        """No horizontal scrolling (a phone must never scroll sideways)."""
        width = self.tab.evaluate("document.documentElement.scrollWidth")
        assert width <= self.tab.viewport_size["width"], width  # type: ignore[index]


def _context(browser: Browser, viewport: str, locale: str = "ja-JP") -> BrowserContext:
    return browser.new_context(locale=locale, **VIEWPORTS[viewport])  # type: ignore[arg-type]


@pytest.fixture(params=list(VIEWPORTS))
def buyer(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Buyer]:
    context = _context(browser, request.param)
    shopper = Buyer(context, request.param)
    yield shopper
    context.close()
    assert not shopper.problems, shopper.problems


def choose(buyer: Buyer, method: str) -> None:
    buyer.tab.click(f"#method-{method}")


def test_card(buyer: Buyer, server, runtime, merchant):
    trading_id = f"WCARD{buyer.viewport}"
    url = open_page_url(
        server, merchant, trading_id=trading_id, amount=4980, threedsecure_ryaku="1",
        payment_detail="コーヒー豆 200g", payment_class="1", use_card_conf_number="1",
        stop_return_url=f"{SHOP}/cart",
    )  # fmt: skip
    tab = buyer.tab
    tab.goto(url)
    expect(tab.locator("#amount")).to_have_text("4,980円")
    buyer.fits()
    choose(buyer, "card")
    tab.fill("#card_number", OK_CARD)
    tab.select_option("#expiry_month", "12")
    tab.select_option("#expiry_year", "30")
    tab.fill("#security_code", "123")
    tab.fill("#holder_name", "TARO YAMADA")
    buyer.fits()
    buyer.shot("card-form")
    tab.click("#pay")
    expect(tab.locator("#done")).to_be_visible()
    expect(tab.locator("#return")).to_have_attribute("href", "https://shop.example/thanks")
    buyer.fits()
    buyer.shot("card")
    [payment] = payments_of(runtime, merchant.merchant_id, trading_id)
    assert (payment.amount, payment.status, payment.payment_type) == (4980, "20", "02")
    assert notice_statuses(runtime, merchant) == ["20"]
    assert OK_CARD not in tab.content()
    tab.click("#return")
    expect(tab).to_have_url("https://shop.example/thanks")


def test_card_finish_disable_lands_on_the_shop(buyer: Buyer, server, runtime, merchant):
    url = open_page_url(
        server, merchant, trading_id="WFIN", payment_type="02", finish_disable="1",
        return_url=f"{SHOP}/done",
    )  # fmt: skip
    tab = buyer.tab
    tab.goto(url)  # one method: straight to the card form
    tab.fill("#card_number", OK_CARD)
    tab.select_option("#expiry_month", "01")
    tab.select_option("#expiry_year", "31")
    tab.fill("#holder_name", "HANAKO SATO")
    tab.click("#pay")
    expect(tab).to_have_url(f"{SHOP}/done")  # the redirect was not blocked by form-action
    assert len(payments_of(runtime, merchant.merchant_id, "WFIN")) == 1


def fill_card(buyer: Buyer, holder: str) -> None:
    buyer.tab.fill("#card_number", OK_CARD)
    buyer.tab.select_option("#expiry_month", "12")
    buyer.tab.select_option("#expiry_year", "30")
    buyer.tab.fill("#holder_name", holder)


def test_card_with_3ds_frictionless(buyer: Buyer, server, runtime, merchant):
    trading_id = f"W3DSF{buyer.viewport}"
    url = open_page_url(
        server, merchant, trading_id=trading_id, payment_type="02", threedsecure_ryaku="0"
    )
    buyer.tab.goto(url)
    fill_card(buyer, "BAVYA")  # the sandbox ACS: Visa, frictionless, authenticated
    buyer.tab.click("#pay")
    expect(buyer.tab.locator("#done")).to_be_visible()
    buyer.shot("card-3ds-frictionless")
    [payment] = payments_of(runtime, merchant.merchant_id, trading_id)
    assert payment.status == "20"
    assert payment.details["3dsecure_message_version"].startswith("2.")


@pytest.mark.parametrize("finish_disable", ["0", "1"])
def test_card_with_3ds_challenge(buyer: Buyer, server, runtime, merchant, finish_disable):
    trading_id = f"W3DSC{buyer.viewport}{finish_disable}"
    url = open_page_url(
        server, merchant, trading_id=trading_id, payment_type="02", threedsecure_ryaku="0",
        finish_disable=finish_disable, return_url=f"{SHOP}/done",
    )  # fmt: skip
    tab = buyer.tab
    tab.goto(url)
    fill_card(buyer, "BAVCA")  # the sandbox ACS asks for a password
    tab.click("#pay")
    expect(tab.locator("input[name=password]")).to_be_visible()
    buyer.shot(f"card-3ds-challenge-acs{finish_disable}")
    tab.fill("input[name=password]", "14012")
    tab.click("input[type=submit]")
    if finish_disable == "1":  # straight back to the shop, not blocked by the ACS's form-action
        expect(tab).to_have_url(f"{SHOP}/done")
    else:
        expect(tab.locator("#done")).to_be_visible()
        buyer.shot("card-3ds-challenge")
    [payment] = payments_of(runtime, merchant.merchant_id, trading_id)
    assert payment.status == "20"


def test_card_kept_then_paid_with_the_stored_card(buyer: Buyer, server, runtime, merchant):
    customer = f"cust-{buyer.viewport}"
    first = open_page_url(server, merchant, trading_id=f"WKEEP1{buyer.viewport}",
                          payment_type="02", stock_card_mode="1", customer_id=customer)  # fmt: skip
    buyer.tab.goto(first)
    fill_card(buyer, "TARO YAMADA")
    buyer.tab.check("#save_card")
    buyer.tab.click("#pay")
    expect(buyer.tab.locator("#done")).to_be_visible()
    trading_id = f"WKEEP2{buyer.viewport}"
    second = open_page_url(server, merchant, trading_id=trading_id, payment_type="02",
                           stock_card_mode="1", customer_id=customer)  # fmt: skip
    buyer.tab.goto(second)
    expect(buyer.tab.locator("#stored-cards")).to_contain_text("************0000")
    buyer.shot("card-stored")
    buyer.tab.click("#pay")  # the stored card is chosen first; nothing else to type
    expect(buyer.tab.locator("#done")).to_be_visible()
    [payment] = payments_of(runtime, merchant.merchant_id, trading_id)
    assert payment.status == "20"


def test_card_declined_then_paid(buyer: Buyer, server, runtime, merchant):
    url = open_page_url(server, merchant, trading_id="WDECL", payment_type="02")
    tab = buyer.tab
    tab.goto(url)
    tab.fill("#card_number", "4900000000008101")
    tab.select_option("#expiry_month", "12")
    tab.select_option("#expiry_year", "30")
    tab.fill("#holder_name", "TARO YAMADA")
    tab.click("#pay")
    expect(tab.locator("#problem")).to_be_visible()
    expect(tab.locator("#card_number")).to_have_value("")
    expect(tab.locator("#holder_name")).to_have_value("TARO YAMADA")
    buyer.shot("card-declined")
    tab.fill("#card_number", OK_CARD)
    tab.click("#pay")
    expect(tab.locator("#done")).to_be_visible()


def test_cvs(buyer: Buyer, server, runtime, merchant):
    trading_id = f"WCVS{buyer.viewport}"
    url = open_page_url(
        server, merchant, trading_id=trading_id, amount=3300, customer_family_name="山田",
        customer_name="太郎", fix_params="customer_family_name,customer_name",
        free_memo="お支払いの確認後に発送します。",
    )  # fmt: skip
    tab = buyer.tab
    tab.goto(url)
    choose(buyer, "cvs")
    tab.check("#chain-00C001")
    tab.fill("#customer_family_name_kana", "ヤマダ")
    tab.fill("#customer_name_kana", "タロウ")
    tab.fill("#customer_tel", "0312345678")
    buyer.fits()
    tab.click("#apply")
    expect(tab.locator("#receipt-number")).not_to_be_empty()
    expect(tab.locator("#chain")).to_have_text("セブン-イレブン")
    expect(tab.locator("#steps li")).to_have_count(2)
    buyer.fits()
    buyer.shot("cvs")
    [payment] = payments_of(runtime, merchant.merchant_id, trading_id)
    assert (payment.amount, payment.status, payment.payment_type) == (3300, "10", "03")
    assert notice_statuses(runtime, merchant) == ["10"]
    tab.click("#print")
    expect(tab.locator("h1")).to_have_text("お支払い方法のご案内")


def test_pay_easy(buyer: Buyer, server, runtime, merchant):
    trading_id = f"WATM{buyer.viewport}"
    url = open_page_url(server, merchant, trading_id=trading_id, amount=12000)
    tab = buyer.tab
    tab.goto(url)
    choose(buyer, "atm")
    tab.fill("#customer_family_name", "佐藤")
    tab.fill("#customer_name", "花子")
    tab.click("#apply")
    expect(tab.locator("#pay-center-number")).not_to_be_empty()
    expect(tab.locator("#customer-number")).not_to_be_empty()
    expect(tab.locator("#conf-number")).not_to_be_empty()
    buyer.fits()
    buyer.shot("payeasy")
    [payment] = payments_of(runtime, merchant.merchant_id, trading_id)
    assert (payment.amount, payment.status, payment.payment_type) == (12000, "10", "01")
    atm.pay(runtime.core, MerchantRef(merchant.merchant_id, "sandbox"), payment.id)  # at the ATM
    assert notice_statuses(runtime, merchant) == ["40"]
    tab.reload()
    expect(tab.locator("#done")).to_be_visible()


def test_bank_net(buyer: Buyer, server, runtime, merchant):
    trading_id = f"WBANK{buyer.viewport}"
    url = open_page_url(server, merchant, trading_id=trading_id, amount=5400)
    tab = buyer.tab
    tab.goto(url)
    choose(buyer, "bank")
    tab.click("#go-bank")
    expect(tab).to_have_url(re.compile(r".*/banking/asp\?"))
    tab.locator("button[name=bank_code]").first.click()
    tab.click("button[value=pay]")
    expect(tab.locator("#done")).to_be_visible()
    buyer.fits()
    buyer.shot("banknet")
    paid = [p for p in payments_of(runtime, merchant.merchant_id, trading_id) if p.status == "40"]
    assert len(paid) == 1 and paid[0].amount == 5400
    assert "40" in notice_statuses(runtime, merchant)


def test_carrier(buyer: Buyer, server, runtime, merchant):
    trading_id = f"WCAR{buyer.viewport}"
    url = open_page_url(server, merchant, trading_id=trading_id, amount=880)
    tab = buyer.tab
    tab.goto(url)
    choose(buyer, "carrier")
    tab.check("#carrier-5")
    tab.click("#go-carrier")
    expect(tab).to_have_url(re.compile(r".*/carrier/pay/"))
    if tab.locator("input[name=login_id]").count():
        tab.fill("input[name=login_id]", "docomo-user")
        tab.click("input[value=ログイン]")
    tab.click("input[value=承認する]")
    expect(tab.locator("#done")).to_be_visible()
    buyer.fits()
    buyer.shot("carrier")
    [payment] = payments_of(runtime, merchant.merchant_id, trading_id)
    assert (payment.amount, payment.status, payment.payment_type) == (880, "20", "06")
    assert notice_statuses(runtime, merchant) == ["20"]


@pytest.mark.parametrize("how", ["accept-language", "query"])
def test_english_page(browser: Browser, server, merchant, how):
    locale = "en-US" if how == "accept-language" else "ja-JP"
    context = _context(browser, "phone", locale=locale)
    buyer = Buyer(context, "phone")
    url = open_page_url(server, merchant, amount=123456)
    buyer.tab.goto(url + ("?lang=en" if how == "query" else ""))
    expect(buyer.tab.locator("h1")).to_have_text("Choose a payment method")
    expect(buyer.tab.locator("#amount")).to_have_text("¥123,456")
    buyer.tab.click("#method-card")
    expect(buyer.tab.locator("#pay")).to_have_text("Pay ¥123,456")
    buyer.shot(f"english-{how}")
    context.close()
    assert not buyer.problems, buyer.problems


def test_no_horizontal_scroll_at_360px(browser: Browser, server, merchant):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    buyer = Buyer(context, "360")
    url = open_page_url(
        server, merchant, merchant_name="とても長いショップ名のテスト商店・オンラインストア本店",
        free_memo="A" * 120, banner_url=f"{SHOP}/banner.png",
    )  # fmt: skip
    for suffix in ("", "/card", "/cvs", "/atm", "/carrier"):
        buyer.tab.goto(url + suffix)
        buyer.fits()
    context.close()
