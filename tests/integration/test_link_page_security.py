"""The hosted page's security: CSRF on every form (cookie-bound token, Origin), the strict CSP with
no scripts, double submission paying once, and the card number nowhere in the clear — not in the
database, the logs, nor anything the server sent back."""

from __future__ import annotations

import re
import threading

import httpx
import pytest

from tests.integration.test_card_data_at_rest import _database_bytes
from tests.integration.test_link_page import path_of, pay_card
from tests.support.link import link_fields, open_page_url, post_link, url_mode_answer
from tests.support.link_page import OK_CARD, Shopper, forms_of, payments_of

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
LINK_PANS = ("4980123412341234", "4980123412348101")  # the second declines (§4 X=8)


@pytest.fixture
def shopper(server):
    browser = Shopper(server)
    yield browser
    browser.close()


def card_values(**extra: str) -> dict[str, str]:
    return {"card_number": OK_CARD, "expiry_month": "12", "expiry_year": "30",
            "holder_name": "T Y", **extra}  # fmt: skip


class TestCsrf:
    def opened(self, server, merchant, shopper, trading_id):
        url = path_of(open_page_url(server, merchant, trading_id=trading_id))
        form = forms_of(shopper.get(url + "/card").text)["card-form"]
        return url, form.fields["csrf"]

    def test_without_the_cookie_nothing_is_done(self, server, merchant, shopper, runtime):
        url, token = self.opened(server, merchant, shopper, "CSRF1")
        answer = httpx.post(server + url + "/card", data=card_values(csrf=token))
        assert answer.status_code == 403 and 'id="reopen"' in answer.text
        assert payments_of(runtime, merchant.merchant_id, "CSRF1") == []

    def test_a_wrong_token_is_refused(self, server, merchant, shopper, runtime):
        url, token = self.opened(server, merchant, shopper, "CSRF2")
        flipped = token[:-1] + ("1" if token[-1] == "0" else "0")  # never the token itself
        wrong = shopper.client.post(url + "/card", data=card_values(csrf=flipped))
        missing = shopper.client.post(url + "/card", data=card_values())
        assert (wrong.status_code, missing.status_code) == (403, 403)
        assert payments_of(runtime, merchant.merchant_id, "CSRF2") == []

    def test_a_token_of_another_page_is_refused(self, server, merchant, shopper, runtime):
        _, token = self.opened(server, merchant, shopper, "CSRF3")
        other, _ = self.opened(server, merchant, shopper, "CSRF4")
        answer = shopper.client.post(other + "/card", data=card_values(csrf=token))
        assert answer.status_code == 403
        assert payments_of(runtime, merchant.merchant_id, "CSRF4") == []

    def test_a_foreign_origin_is_refused(self, server, merchant, shopper, runtime):
        url, token = self.opened(server, merchant, shopper, "CSRF5")
        foreign = shopper.client.post(
            url + "/card", data=card_values(csrf=token), headers={"origin": "https://evil.example"}
        )
        cross = shopper.client.post(
            url + "/card", data=card_values(csrf=token), headers={"sec-fetch-site": "cross-site"}
        )
        assert (foreign.status_code, cross.status_code) == (403, 403)
        assert payments_of(runtime, merchant.merchant_id, "CSRF5") == []

    def test_own_origin_and_null_origin_pass(self, server, merchant, shopper, runtime):
        url, token = self.opened(server, merchant, shopper, "CSRF6")
        ok = shopper.client.post(
            url + "/card", data=card_values(csrf=token), headers={"origin": "null"}
        )
        assert ok.status_code == 303
        assert len(payments_of(runtime, merchant.merchant_id, "CSRF6")) == 1

    def test_cookie_is_httponly_samesite_lax_on_the_page_path(self, server, merchant, shopper):
        page = shopper.get(path_of(open_page_url(server, merchant)))
        cookie = page.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/link" in cookie

    def test_every_form_of_every_method_carries_the_token(self, server, merchant, shopper):
        url = path_of(open_page_url(server, merchant))
        for method in ("card", "cvs", "atm", "bank", "carrier"):
            forms = forms_of(shopper.get(f"{url}/{method}").text)
            assert forms and all(form.fields.get("csrf") for form in forms.values()), method


class TestHeaders:
    def test_strict_csp_and_no_script_on_any_page(self, server, merchant, shopper):
        url = path_of(open_page_url(server, merchant))
        pages = [
            shopper.get(url + suffix)
            for suffix in ("", "/card", "/cvs", "/atm", "/bank", "/carrier")
        ]
        pages.append(shopper.get("/link/" + "y" * 32))
        for page in pages:
            assert page.headers["content-security-policy"] == CSP
            assert page.headers["referrer-policy"] == "no-referrer"
            assert page.headers["cache-control"] == "no-store"
            assert page.headers["x-frame-options"] == "DENY"
            assert "<script" not in page.text.lower()
            assert not re.search(r"\son[a-z]+=", page.text)  # no inline handlers either
            assert "strict-transport-security" not in page.headers  # plain HTTP here

    def test_banner_origin_is_the_only_foreign_image_source(self, server, merchant, shopper):
        url = open_page_url(server, merchant, banner_url="https://cdn.shop.example/banner.png")
        page = shopper.get(path_of(url))
        assert (
            "img-src 'self' data: https://cdn.shop.example;"
            in page.headers["content-security-policy"]
        )
        assert 'src="https://cdn.shop.example/banner.png"' in page.text

    @pytest.mark.parametrize(
        "banner",
        ["https://cdn.shop.example;sandbox/b.png", "https://cdn.shop.example,x/b.png",
         "https://cdn.shop.example'/b.png", "https://user@cdn.shop.example/b.png"],
    )  # fmt: skip
    def test_a_banner_url_that_is_not_a_plain_url_is_refused(self, server, merchant, banner):
        fields = link_fields(merchant, "BANNER1", banner_url=banner)
        answer = url_mode_answer(post_link(server, fields, url_mode=True))
        assert (answer["result"], answer["response_code"]) == ("1", "P008"), answer
        assert '"banner_url"' in answer["response_detail"]

    def test_stylesheet_is_served(self, server, shopper):
        css = shopper.get("/link/static/link.css")
        assert css.status_code == 200 and "@media" in css.text
        assert shopper.get("/link/static/../face.py").status_code == 404


class TestDoubleSubmit:
    def test_two_concurrent_card_posts_make_one_payment(self, server, merchant, shopper, runtime):
        url = path_of(open_page_url(server, merchant, trading_id="TWICE"))
        token = forms_of(shopper.get(url + "/card").text)["card-form"].fields["csrf"]
        cookies = dict(shopper.client.cookies)
        answers: list[httpx.Response] = []

        def click() -> None:
            with httpx.Client(base_url=server, cookies=cookies, timeout=30) as client:
                answers.append(client.post(url + "/card", data=card_values(csrf=token)))

        threads = [threading.Thread(target=click) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(payments_of(runtime, merchant.merchant_id, "TWICE")) == 1
        assert sorted(a.status_code for a in answers) in ([303, 303], [303, 409])
        for answer in answers:  # either the paid page or "being processed"
            if answer.status_code == 409:
                assert 'id="busy"' in answer.text
            else:
                assert 'id="done"' in shopper.follow(answer).text

    def test_submitting_again_after_paying_shows_the_completion(
        self, server, merchant, shopper, runtime
    ):
        url = path_of(open_page_url(server, merchant, trading_id="AGAIN"))
        form_page = shopper.get(url + "/card")
        first = shopper.submit("card-form", page=form_page, **card_values())
        second = shopper.submit("card-form", page=form_page, **card_values())  # back + resubmit
        assert (first.status_code, second.status_code) == (303, 303)
        assert 'id="done"' in shopper.follow(second).text
        assert len(payments_of(runtime, merchant.merchant_id, "AGAIN")) == 1


def test_card_numbers_from_the_page_are_nowhere_in_the_clear(
    server, merchant, runtime, log_file, tmp_path
):
    shopper = Shopper(server)
    good, declined = LINK_PANS
    pay_card(shopper, open_page_url(server, merchant, trading_id="PAN1"), declined)
    pay_card(shopper, open_page_url(server, merchant, trading_id="PAN1"), good)
    pay_card(shopper, open_page_url(server, merchant, trading_id="PAN2"), good, holder_name="")
    stored = _database_bytes(runtime, tmp_path)
    logs = log_file.read_bytes()
    sent = "\n".join(shopper.seen).encode()
    assert b"************1234" in stored  # the mask is there: the search reads real data
    for pan in LINK_PANS:
        for haystack, where in ((stored, "database"), (logs, "logs"), (sent, "pages")):
            assert pan.encode() not in haystack, f"card number in the {where}"
            assert pan.encode("utf-16-le") not in haystack, f"card number in the {where}"
