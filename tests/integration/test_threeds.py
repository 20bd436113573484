"""EMV 3-D Secure 2 end to end over real HTTP (paygent-protocol.md §1.5 450, §4): the 450 telegram in
UTF-8, the simulated ACS (frictionless and challenge), the signed GET to term_url, then 020 with
`3dsecure_use_type=2` and `3ds_auth_id`; the 30-minute timeout notice to a real receiver."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from kessai.app import Runtime
from kessai.client import KessaiClient, verify_threeds_result
from kessai.core.merchants.commands import NewMerchant
from kessai.core.payments import testtool
from kessai.worker.threeds import run_threeds_jobs
from tests.conftest import TestClock, make_merchant
from tests.integration.test_card_data_at_rest import _database_bytes
from tests.support.receiver import Receiver
from tests.support.servers import serve_app
from tests.support.telegrams import OK_CARD, form_body, header, send

TERM_URL = "http://127.0.0.1:9/shop/3ds/result?order=42"
ACS_LINK = re.compile(r'<a href="([^"]+)"')


def client(server: str, merchant: NewMerchant) -> KessaiClient:
    return KessaiClient(
        server,
        merchant_id=merchant.merchant_id,
        connect_id=merchant.connect_id,
        connect_password=merchant.connect_password,
    )


def start(
    server: str,
    merchant: NewMerchant,
    *,
    name: str = "TARO YAMADA",
    amount: int = 1000,
    card: str = OK_CARD,
    term_url: str = TERM_URL,
) -> tuple[str, str]:
    """A 450 through the SDK: (3ds_auth_id, the ACS URL of out_acs_html)."""
    with client(server, merchant) as kessai:
        started = kessai.threeds_authenticate(
            term_url=term_url,
            merchant_name="テスト商店",
            payment_amount=amount,
            card_number=card,
            card_valid_term="1230",
            cardholder_name=name,
        )
    assert started.ok, (started.response_code, started.response_detail)
    assert started.three_ds_auth_id and started.out_acs_html
    found = ACS_LINK.search(started.out_acs_html)
    assert found is not None
    return started.three_ds_auth_id, found.group(1)


def result_of(response: httpx.Response) -> dict[str, str]:
    """The term_url GET the ACS redirects the browser to, as the merchant reads it."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(TERM_URL.split("?")[0] + "?order=42&")
    return dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))


def authenticated(server: str, merchant: NewMerchant, **kwargs: object) -> dict[str, str]:
    """A frictionless authentication followed to term_url: its parameters."""
    _auth_id, acs = start(server, merchant, **kwargs)  # type: ignore[arg-type]
    return result_of(httpx.get(acs))


def authorise_with(
    server: str, merchant: NewMerchant, auth_id: str, amount: int = 1000, **card: str
) -> dict[str, str]:
    reply = send(
        server,
        merchant,
        "020",
        trading_id=f"T3DS{auth_id[:8]}",
        payment_amount=amount,
        **{"3dsecure_use_type": "2", "3ds_auth_id": auth_id},
        **card,
    )
    return reply.fields


# ---------------------------------------------------------------- 450


def test_450_answers_in_utf8_with_out_acs_html_last(server, merchant) -> None:
    fields = header(
        merchant,
        "450",
        term_url=TERM_URL,
        merchant_name="テスト商店",
        authentication_type="01",
        card_set_method="direct",
        card_number="4980111122220000",
        card_valid_term="1230",
        payment_amount="1500.00",
        currency_code="JPY",
        cardholder_name="HANAKO SATO",
        bill_address_city="渋谷区",  # a risk field: accepted, ignored
    )
    response = httpx.post(
        server + "/n/threeds/request",
        content=form_body(fields, "utf-8"),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert response.headers["content-type"] == "text/html; charset=UTF-8"
    text = response.content.decode("utf-8")
    lines = text.split("\r\n")
    html_at = next(i for i, line in enumerate(lines) if line.startswith("out_acs_html="))
    assert all("=" not in line or line.startswith("<") for line in lines[html_at + 1 :])
    assert lines[html_at + 1].startswith("<!DOCTYPE html>")
    assert text.rstrip("\r\n").endswith("</HTML>")
    head = dict(line.partition("=")[::2] for line in lines[:html_at] if line)
    assert head["result"] == "0"
    assert head["acq_name"] == "三井住友カード"  # readable: UTF-8 all the way
    assert head["card_brand"] == "VISA"
    assert head["masked_card_number"] == "************0000"
    assert re.fullmatch(r"[0-9a-f-]{36}", head["3ds_auth_id"])


def test_out_acs_html_sends_the_browser_to_the_acs_without_javascript(server, merchant) -> None:
    _auth_id, acs = start(server, merchant)
    with client(server, merchant) as kessai:
        html = kessai.threeds_authenticate(
            term_url=TERM_URL,
            merchant_name="Shop",
            payment_amount=1000,
            card_number=OK_CARD,
            card_valid_term="1230",
        ).out_acs_html
    assert html is not None and "<script" not in html.lower()
    assert re.search(r'<meta http-equiv="refresh" content="0;url=http://127\.0\.0\.1', html)
    assert '<form action="http://127.0.0.1' in html
    assert acs.startswith(server + "/3ds/acs/")


@pytest.mark.parametrize(
    ("fields", "code", "said"),
    [
        ({"term_url": "ftp://shop.example/3ds"}, "P010", "term_url"),
        ({"card_set_method": "token", "card_token": "tok_x"}, "P010", "card_token"),
        ({"card_set_method": "google"}, "P010", "card_set_method"),
        ({"payment_amount": "1000.50"}, "P010", "payment_amount"),
        ({"payment_amount": "0"}, "P014", "金額"),
        ({"currency_code": "USD"}, "P010", "currency_code"),
        ({"card_number": ""}, "P006", "card_number"),
    ],
)
def test_450_refuses_what_it_cannot_authenticate(server, merchant, fields, code, said) -> None:
    base = {
        "term_url": TERM_URL,
        "merchant_name": "Shop",
        "card_set_method": "direct",
        "card_number": OK_CARD,
        "card_valid_term": "1230",
        "payment_amount": "1000",
    }
    with client(server, merchant) as kessai:
        answer = kessai.send("450", {**base, **fields})
    assert (answer.result, answer.response_code) == ("1", code)
    assert said in answer.response_detail


def test_production_merchants_get_p063_while_only_the_simulated_acs_exists(server, runtime) -> None:
    production = make_merchant(runtime, mode="production")
    with client(server, production) as kessai:
        answer = kessai.threeds_authenticate(
            term_url=TERM_URL,
            merchant_name="Shop",
            payment_amount=1000,
            card_number=OK_CARD,
            card_valid_term="1230",
        )
    assert (answer.result, answer.response_code) == ("1", "P063")


# ---------------------------------------------------------------- the ACS, frictionless


@pytest.mark.parametrize(
    ("name", "result", "attempt_kbn", "code"),
    [
        ("BAVYA", "0", "0", ""),
        ("BAMAA", "0", "1", ""),
        ("BAJUA", "0", "1", ""),
        ("BAANA", "1", "", "31007"),
        ("BAJRA", "1", "", "31007"),
    ],
)
def test_frictionless_names_answer_on_term_url(
    server, merchant, name, result, attempt_kbn, code
) -> None:
    params = authenticated(server, merchant, name=name)
    assert (params["result"], params["attempt_kbn"]) == (result, attempt_kbn)
    assert params.get("response_code", "") == code
    assert verify_threeds_result(params, merchant.threeds_hash_key)
    assert params["masked_card_number"] == "************0000"
    assert params["card_brand"] == "VISA" and params["acq_name"] == "三井住友カード"
    assert len(params["fingerprint"]) == 64
    assert list(params)[:3] == ["order", "result", "3ds_auth_id"]


@pytest.mark.parametrize(
    ("amount", "result", "attempt_kbn"),
    [(314010, "0", "0"), (313510, "0", "0"), (314020, "0", "1"), (314040, "1", "")],
)
def test_amounts_steer_the_acs(server, merchant, amount, result, attempt_kbn) -> None:
    params = authenticated(server, merchant, amount=amount)
    assert (params["result"], params["attempt_kbn"]) == (result, attempt_kbn)
    assert verify_threeds_result(params, merchant.threeds_hash_key)


@pytest.mark.parametrize(
    ("name", "server_code", "requestor_code"),
    [("BBErrABAB", "101", ""), ("BDErrInvalidInput", "", "203")],
)
def test_error_names_answer_31012(server, merchant, name, server_code, requestor_code) -> None:
    params = authenticated(server, merchant, name=name)
    assert (params["result"], params["response_code"]) == ("1", "31012")
    assert params["3dsecure_server_error_code"] == server_code
    assert params["3dsecure_requestor_error_code"] == requestor_code
    assert params["response_detail"] == "3Dセキュア認証処理でエラーが発生しました。"


def test_a_silent_acs_never_redirects(server, merchant) -> None:
    _auth_id, acs = start(server, merchant, name="BCErrTimeOut")
    for _ in range(2):
        page = httpx.get(acs)
        assert page.status_code == 200 and "応答がありません" in page.text


def test_the_decision_is_made_once_and_shown_again(server, merchant) -> None:
    _auth_id, acs = start(server, merchant, name="BAVYA")
    assert result_of(httpx.get(acs)) == result_of(httpx.get(acs))


def test_a_wrong_acs_token_finds_nothing(server, merchant) -> None:
    _auth_id, acs = start(server, merchant)
    assert httpx.get(acs[:-1] + ("0" if acs[-1] != "0" else "1")).status_code == 404


# ---------------------------------------------------------------- the ACS, challenge


def challenge(server: str, merchant: NewMerchant, **kwargs: object) -> tuple[str, str, str]:
    """(auth id, ACS URL, the form's token) of a challenge page."""
    auth_id, acs = start(server, merchant, name="BAVCA", **kwargs)  # type: ignore[arg-type]
    page = httpx.get(acs)
    assert page.status_code == 200 and 'type="password"' in page.text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert token is not None
    return auth_id, acs, token.group(1)


def answer(acs: str, csrf: str | None, password: str, **headers: str) -> httpx.Response:
    form = {"password": password} | ({"csrf": csrf} if csrf is not None else {})
    return httpx.post(acs, data=form, headers=headers)


@pytest.mark.parametrize(
    ("password", "result", "attempt_kbn", "code"),
    [("14012", "0", "0", ""), ("14042", "1", "", "31007"), ("14052", "0", "1", "")],
)
def test_the_challenge_password_decides(
    server, merchant, password, result, attempt_kbn, code
) -> None:
    _auth_id, acs, csrf = challenge(server, merchant)
    params = result_of(answer(acs, csrf, password))
    assert (params["result"], params["attempt_kbn"]) == (result, attempt_kbn)
    assert params.get("response_code", "") == code
    assert verify_threeds_result(params, merchant.threeds_hash_key)


def test_the_challenge_page_is_locked_down(server, merchant) -> None:
    _auth_id, acs, _csrf = challenge(server, merchant)
    page = httpx.get(acs)
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "form-action 'self' http://127.0.0.1:9" in csp  # the answer redirects to term_url
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text and "style=" not in page.text
    assert "Password" in page.text and "パスワード" in page.text


def test_a_post_without_the_form_token_or_from_elsewhere_is_refused(server, merchant) -> None:
    _auth_id, acs, csrf = challenge(server, merchant)
    assert answer(acs, None, "14012").status_code == 403
    assert answer(acs, "0" * 32, "14012").status_code == 403
    assert answer(acs, csrf, "14012", origin="https://evil.example").status_code == 403
    assert 'type="password"' in httpx.get(acs).text  # still undecided
    same_origin = answer(acs, csrf, "14012", origin=server)
    assert result_of(same_origin)["result"] == "0"


def test_a_second_submit_answers_the_first_decision(server, merchant) -> None:
    _auth_id, acs, csrf = challenge(server, merchant)
    first = answer(acs, csrf, "14012").headers["location"]
    assert answer(acs, csrf, "14012").headers["location"] == first
    assert answer(acs, csrf, "14042").headers["location"] == first
    assert httpx.get(acs).headers["location"] == first


def test_three_unrecognised_passwords_fail_the_authentication(server, merchant) -> None:
    _auth_id, acs, csrf = challenge(server, merchant)
    for left in (2, 1):
        page = answer(acs, csrf, "0000")
        assert page.status_code == 200 and f"{left} tries left" in page.text
    params = result_of(answer(acs, csrf, "0000"))
    assert (params["result"], params["response_code"]) == ("1", "31007")


# ---------------------------------------------------------------- 020 with 3ds_auth_id


def test_020_uses_the_authenticated_card(server, merchant) -> None:
    params = authenticated(server, merchant, name="BAVYA")
    reply = authorise_with(server, merchant, params["3ds_auth_id"])
    assert reply["result"] == "0", reply
    assert reply["attempt_kbn"] == "0"
    assert reply["masked_card_number"] == "************0000"
    record = send(server, merchant, "094", payment_id=reply["payment_id"])
    assert record["3dsecure_message_version"] == "2.2.0"
    assert record["attempt_kbn"] == "0"


def test_020_after_an_attempt_says_so(server, merchant) -> None:
    params = authenticated(server, merchant, name="BAMAA")
    reply = authorise_with(server, merchant, params["3ds_auth_id"])
    assert (reply["result"], reply["attempt_kbn"]) == ("0", "1")


def test_020_with_the_same_card_number_passes_and_another_card_does_not(server, merchant) -> None:
    first = authenticated(server, merchant)["3ds_auth_id"]
    card = {"card_number": OK_CARD, "card_valid_term": "1230", "card_conf_number": "123"}
    assert authorise_with(server, merchant, first, **card)["result"] == "0"
    second = authenticated(server, merchant)["3ds_auth_id"]
    other = {**card, "card_number": "4980000000000000"}
    assert authorise_with(server, merchant, second, **other)["response_code"] == "31011"


def test_020_after_a_failed_authentication_is_refused(server, merchant) -> None:
    params = authenticated(server, merchant, name="BAVNA")
    assert authorise_with(server, merchant, params["3ds_auth_id"])["response_code"] == "31009"


def test_020_before_the_buyer_came_back_is_refused(server, merchant) -> None:
    auth_id, _acs = start(server, merchant)
    assert authorise_with(server, merchant, auth_id)["response_code"] == "31009"


def test_an_auth_id_makes_one_payment(server, merchant) -> None:
    auth_id = authenticated(server, merchant)["3ds_auth_id"]
    assert authorise_with(server, merchant, auth_id)["result"] == "0"
    reply = authorise_with(server, merchant, auth_id)
    assert (reply["result"], reply["response_code"]) == ("1", "31010")


def test_racing_020s_with_one_auth_id_make_one_payment(server, merchant) -> None:
    auth_id = authenticated(server, merchant)["3ds_auth_id"]

    def authorise(n: int) -> str:
        reply = send(
            server,
            merchant,
            "020",
            trading_id=f"RACE{n}",
            payment_amount=1000,
            **{"3dsecure_use_type": "2", "3ds_auth_id": auth_id},
        )
        return reply.code or reply.result

    with ThreadPoolExecutor(4) as pool:
        answers = sorted(pool.map(authorise, range(4)))
    assert answers == ["0", "31010", "31010", "31010"]


def test_020_with_another_amount_is_refused(server, merchant) -> None:
    auth_id = authenticated(server, merchant)["3ds_auth_id"]
    assert authorise_with(server, merchant, auth_id, amount=1001)["response_code"] == "31011"
    assert authorise_with(server, merchant, auth_id)["result"] == "0"  # nothing was used up


def test_another_merchants_auth_id_is_unknown(server, merchant, runtime: Runtime) -> None:
    auth_id = authenticated(server, merchant)["3ds_auth_id"]
    other = make_merchant(runtime)
    assert authorise_with(server, other, auth_id)["response_code"] == "31008"
    assert authorise_with(server, merchant, "0" * 36)["response_code"] == "31008"


def test_020_needs_both_3ds_fields(server, merchant) -> None:
    reply = send(
        server, merchant, "020", trading_id="T", payment_amount=1000, **{"3ds_auth_id": "x"}
    )
    assert (reply.code, "3dsecure_use_type" in reply["response_detail"]) == ("P010", True)
    reply = send(
        server, merchant, "020", trading_id="T", payment_amount=1000, **{"3dsecure_use_type": "2"}
    )
    assert reply.code == "P005" and "3ds_auth_id" in reply["response_detail"]


def test_a_stored_card_goes_through_3ds_and_020_by_sdk(server, merchant) -> None:
    with client(server, merchant) as kessai:
        card = kessai.register_card(customer_id="C3DS", card_number=OK_CARD, card_valid_term="1230")
        assert card.ok, card.response_code
        started = kessai.threeds_authenticate(
            term_url=TERM_URL,
            merchant_name="Shop",
            payment_amount=2000,
            customer_id="C3DS",
            customer_card_id=card.customer_card_id,
            cardholder_name="BAJYA",
        )
        acs = ACS_LINK.search(started.out_acs_html or "")
        assert acs is not None
        params = result_of(httpx.get(acs.group(1)))
        assert verify_threeds_result(params, merchant.threeds_hash_key)
        auth = kessai.authorize(
            trading_id="SDK3DS", payment_amount=2000, threeds_auth_id=params["3ds_auth_id"]
        )
    assert auth.ok, (auth.response_code, auth.response_detail)
    assert auth.masked_card_number == "************0000"


# ---------------------------------------------------------------- the 30-minute timeout


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    merchant_side = Receiver()
    with serve_app(merchant_side.app) as base_url:
        yield merchant_side, base_url + "/term"


def _notices(merchant_side: Receiver, auth_id: str) -> list[dict[str, str]]:
    return [r.fields for r in merchant_side.received if r.fields.get("3ds_auth_id") == auth_id]


def test_the_timeout_notice_reaches_term_url(server, merchant, runtime, clock, receiver) -> None:
    merchant_side, term_url = receiver
    auth_id, acs = start(server, merchant, term_url=term_url)
    clock.advance(timedelta(minutes=31))
    run_threeds_jobs(runtime.core, runtime.settings)
    run_threeds_jobs(runtime.core, runtime.settings)  # delivered: not sent again
    (notice,) = _notices(merchant_side, auth_id)
    assert (notice["result"], notice["response_code"]) == ("1", "31013")
    assert notice["fingerprint"] == notice["masked_card_number"] == "XXXX"
    assert verify_threeds_result(notice, merchant.threeds_hash_key)
    assert authorise_with(server, merchant, auth_id)["response_code"] == "31009"
    late = httpx.get(acs, follow_redirects=False)
    assert late.status_code == 303 and "response_code=31013" in late.headers["location"]


def test_the_timeout_notice_is_retried_hourly_three_times(
    server, merchant, runtime, clock: TestClock, receiver
) -> None:
    merchant_side, term_url = receiver
    merchant_side.mode = "error500"
    auth_id, _acs = start(server, merchant, term_url=term_url)
    clock.advance(timedelta(minutes=31))
    run_threeds_jobs(runtime.core, runtime.settings)
    run_threeds_jobs(runtime.core, runtime.settings)  # not due again for an hour
    assert len(_notices(merchant_side, auth_id)) == 1
    for tries in (2, 3, 4, 4):  # three retries, then no more
        clock.advance(timedelta(minutes=61))
        run_threeds_jobs(runtime.core, runtime.settings)
        assert len(_notices(merchant_side, auth_id)) == tries


def test_a_retried_timeout_notice_stops_once_delivered(
    server, merchant, runtime, clock: TestClock, receiver
) -> None:
    merchant_side, term_url = receiver
    merchant_side.fail_first = 1
    auth_id, _acs = start(server, merchant, term_url=term_url)
    clock.advance(timedelta(minutes=31))
    run_threeds_jobs(runtime.core, runtime.settings)
    for _ in range(2):
        clock.advance(timedelta(minutes=61))
        run_threeds_jobs(runtime.core, runtime.settings)
    assert len(_notices(merchant_side, auth_id)) == 2


# ---------------------------------------------------------------- card data at rest

PAN_3DS = "4541999988887777"


def test_the_3ds_card_number_is_nowhere_in_the_clear(
    server, merchant, runtime, log_file, tmp_path
) -> None:
    auth_id, acs, csrf = challenge(server, merchant, card=PAN_3DS)
    assert result_of(answer(acs, csrf, "14012"))["result"] == "0"
    assert authorise_with(server, merchant, auth_id)["result"] == "0"
    again = authenticated(server, merchant, card=PAN_3DS)["3ds_auth_id"]
    card = {"card_number": PAN_3DS, "card_valid_term": "1230", "card_conf_number": "123"}
    assert authorise_with(server, merchant, again, **card)["result"] == "0"
    for bad in (  # wrong credentials; the number in fields that refuse it
        header(merchant, "450", connect_password="wrong", card_number=PAN_3DS),
        header(merchant, "450", term_url=PAN_3DS, payment_amount=PAN_3DS, card_number=PAN_3DS),
    ):
        httpx.post(server + "/n/threeds/request", content=form_body(bad, "utf-8"))
    stored = _database_bytes(runtime, tmp_path)
    assert b"************7777" in stored  # the masks are there: the search reads real data
    for haystack, where in ((stored, "database"), (log_file.read_bytes(), "logs")):
        assert PAN_3DS.encode() not in haystack, f"card number in the {where}"
        assert PAN_3DS.encode("utf-16-le") not in haystack, f"card number in the {where}"


def test_a_sandbox_merchants_test_clock_times_authentications_out(
    server, merchant, runtime, receiver
) -> None:
    merchant_side, term_url = receiver
    auth_id, _acs = start(server, merchant, term_url=term_url)
    other_id, _ = start(server, merchant, term_url=term_url)
    testtool.advance_clock(runtime.core, merchant.merchant_id, timedelta(minutes=20))
    run_threeds_jobs(runtime.core, runtime.settings)
    assert _notices(merchant_side, auth_id) == []  # 20 of its 30 minutes
    moved = testtool.advance_clock(runtime.core, merchant.merchant_id, timedelta(minutes=11))
    assert moved.expired >= 2
    run_threeds_jobs(runtime.core, runtime.settings)
    (notice,) = _notices(merchant_side, auth_id)
    assert notice["response_code"] == "31013"
    assert len(_notices(merchant_side, other_id)) == 1
