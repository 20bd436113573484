"""The link request (§2.1–§2.4) over real HTTP: three charsets, form and URL mode, the same page
for the same trading_id, every refusal with its code and nothing created."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote_plus

import httpx
import pytest

from kessai.app import build_runtime, create_app
from kessai.client import signed_link
from kessai.config import Settings
from kessai.core.link.hashing import SIGNED_FIELDS
from kessai.core.link.requests import page
from tests.conftest import make_merchant
from tests.support.link import (
    PATHS,
    link_fields,
    link_rows,
    post_link,
    url_mode_answer,
)
from tests.support.servers import serve_app
from tests.support.telegrams import authorised, send


def token_of(url: str) -> str:
    match = re.fullmatch(r"http://[^/]+/link/([A-Za-z0-9_-]{32})", url)
    assert match, url
    return match.group(1)


class TestModes:
    @pytest.mark.parametrize("charset", ["cp932", "utf-8", "euc_jp"])
    def test_url_mode_answers_the_page_url_in_each_charset(self, server, merchant, charset):
        fields = link_fields(merchant, merchant_name="山田商店", payment_detail="お買い物")
        response = post_link(server, fields, charset=charset, url_mode=True)
        answer = url_mode_answer(response, charset)
        assert answer["result"] == "0", answer
        assert answer["url"].startswith(server + "/link/")
        assert answer["trading_id"] == "L1"
        assert re.fullmatch(r"\d{14}", answer["limit_date"])
        assert re.fullmatch(r"\d{14}", answer["trade_generation_date"])
        assert set(answer["payment_type"].split(",")) <= {"01", "02", "03", "05", "06"}

    def test_the_request_keeps_its_japanese_values(self, server, merchant, runtime):
        fields = link_fields(merchant, merchant_name="山田商店", free_memo="ありがとう")
        url = url_mode_answer(post_link(server, fields, charset="euc_jp", url_mode=True), "euc_jp")
        shown = page(runtime.core, token_of(url["url"]))
        assert shown.merchant_name == "山田商店"
        assert shown.param("free_memo") == "ありがとう"
        assert shown.charset == "euc_jp"

    def test_form_mode_sends_the_browser_to_the_page(self, server, merchant):
        response = post_link(server, link_fields(merchant))
        assert response.status_code == 303
        token_of(response.headers["location"])

    def test_get_works_as_post(self, server, merchant):
        query = "&".join(
            f"{k}={quote_plus(v, encoding='cp932')}" for k, v in link_fields(merchant).items()
        )
        response = httpx.get(f"{server}/v/request?{query}", timeout=30)
        assert response.status_code == 303

    def test_the_url_starts_with_the_public_base_url(self, database_url, home, clock, merchant):
        settings = Settings(
            home=home, database_url=database_url, public_url="https://pay.example.jp"
        )
        runtime = build_runtime(settings, clock=clock)
        try:
            with serve_app(create_app(runtime), http="h11") as base:
                answer = url_mode_answer(post_link(base, link_fields(merchant), url_mode=True))
        finally:
            runtime.engine.dispose()
        assert answer["url"].startswith("https://pay.example.jp/link/")


class TestSameTradingId:
    def test_the_same_trading_id_gives_the_same_page_and_keeps_the_first_content(
        self, server, merchant, runtime
    ):
        first = url_mode_answer(post_link(server, link_fields(merchant), url_mode=True))
        again = url_mode_answer(
            post_link(server, link_fields(merchant, merchant_name="別の名前"), url_mode=True)
        )
        assert again["url"] == first["url"]
        assert page(runtime.core, token_of(first["url"])).merchant_name == "テスト商店"
        assert link_rows(runtime, merchant) == 1

    def test_another_amount_for_a_known_trading_id_answers_p010(self, server, merchant, runtime):
        url_mode_answer(post_link(server, link_fields(merchant), url_mode=True))
        answer = url_mode_answer(
            post_link(server, link_fields(merchant, amount=1600), url_mode=True)
        )
        assert (answer["result"], answer["response_code"]) == ("1", "P010")
        assert '"id"' in answer["response_detail"]
        assert link_rows(runtime, merchant) == 1

    def test_a_paid_trading_id_answers_6001(self, server, merchant, runtime):
        authorised(server, merchant, "PAID1")
        answer = url_mode_answer(
            post_link(server, link_fields(merchant, "PAID1", 1000), url_mode=True)
        )
        assert answer["response_code"] == "6001"
        assert link_rows(runtime, merchant) == 0

    def test_a_trading_id_with_an_issued_number_answers_6003(self, server, merchant):
        url_mode_answer(post_link(server, link_fields(merchant, "ATM9", 5500), url_mode=True))
        reply = send(
            server,
            merchant,
            "010",
            path="/n/atm/request",
            trading_id="ATM9",
            payment_amount=5500,
            payment_detail="代金",
            payment_detail_kana="ﾀﾞｲｷﾝ",
            customer_family_name="山田",
            customer_name="太郎",
        )
        assert reply.result == "0", reply.fields
        answer = url_mode_answer(
            post_link(server, link_fields(merchant, "ATM9", 5500), url_mode=True)
        )
        assert answer["response_code"] == "6003"

    def test_an_expired_page_answers_6002(self, server, merchant, clock):
        fields = link_fields(merchant, payment_term_min="5")
        assert url_mode_answer(post_link(server, fields, url_mode=True))["result"] == "0"
        clock.advance(timedelta(minutes=6))
        answer = url_mode_answer(
            post_link(server, link_fields(merchant, payment_term_min="5"), url_mode=True)
        )
        assert answer["response_code"] == "6002"


class TestRefusals:
    @pytest.mark.parametrize("name", SIGNED_FIELDS)
    def test_each_signed_field_changed_after_signing_is_refused(
        self, server, merchant, runtime, name
    ):
        fields = link_fields(
            merchant,
            payment_type="02,03",
            fix_params="customer_family_name",
            customer_family_name="山田",
            payment_term_day="3",
            payment_class="0",
            use_card_conf_number="1",
            customer_id="cust1",
            threedsecure_ryaku="0",
        )
        fields[name] = {
            "trading_id": "L2",
            "payment_type": "02",
            "id": "1501",
            "seq_merchant_id": str(merchant.merchant_id),
            "payment_term_day": "4",
            "payment_term_min": "30",
            "payment_class": "1",
            "use_card_conf_number": "0",
            "customer_id": "cust2",
            "threedsecure_ryaku": "1",
            "fix_params": "customer_name",
        }[name]
        if name == "seq_merchant_id":
            other = make_merchant(runtime)
            fields[name] = str(other.merchant_id)
        answer = url_mode_answer(post_link(server, fields, url_mode=True))
        assert (answer["result"], answer["response_code"]) == ("1", "6005")
        assert answer["response_detail"] == "取引情報が正しくありません。"
        assert link_rows(runtime, merchant) == 0

    def test_a_missing_hash_is_refused_with_a_page_in_form_mode(self, server, merchant, runtime):
        fields = link_fields(merchant)
        del fields["hc"]
        response = post_link(server, fields)
        assert response.status_code == 400
        assert "6005" in response.text and "取引情報が正しくありません" in response.text
        assert link_rows(runtime, merchant) == 0

    def test_unsigned_fields_may_change(self, server, merchant):
        fields = link_fields(merchant)
        fields["merchant_name"] = "署名外"
        assert url_mode_answer(post_link(server, fields, url_mode=True))["result"] == "0"

    @pytest.mark.parametrize(
        ("charset", "raw"),
        [("cp932", b"%FF%FE"), ("utf-8", b"%E3%81"), ("euc_jp", b"%8F%FF")],
    )
    def test_bytes_outside_the_paths_charset_answer_6004(
        self, server, merchant, runtime, charset, raw
    ):
        fields = link_fields(merchant)
        body = (
            "&".join(f"{k}={quote_plus(v)}" for k, v in fields.items()).encode()
            + b"&free_memo="
            + raw
            + b"&isbtob=1"
        )
        response = httpx.post(server + PATHS[charset], content=body, timeout=30)
        answer = url_mode_answer(response, charset)
        assert answer["response_code"] == "6004"
        assert link_rows(runtime, merchant) == 0

    def test_characters_windows_31j_cannot_hold_answer_6004(self, server, merchant, runtime):
        fields = link_fields(merchant, merchant_name="ショップ🍣")
        answer = url_mode_answer(post_link(server, fields, charset="utf-8", url_mode=True), "utf-8")
        assert answer["response_code"] == "6004"
        assert link_rows(runtime, merchant) == 0

    def test_an_unknown_merchant_gets_a_page_that_says_so(self, server, merchant):
        fields = link_fields(merchant)
        fields["seq_merchant_id"] = "999999998"
        response = post_link(server, fields)
        assert response.status_code == 400
        assert "マーチャントIDに該当する加盟店がありません" in response.text

    @pytest.mark.parametrize(
        ("extra", "code", "field"),
        [
            ({"payment_type": "07"}, "P007", None),
            ({"payment_term_day": "61"}, "P010", "payment_term_day"),
            ({"payment_term_day": "3", "payment_term_min": "30"}, "P010", "payment_term_min"),
            ({"payment_term_min": "4"}, "P010", "payment_term_min"),
            ({"finish_disable": "1", "return_url": ""}, "P005", "return_url"),
            ({"return_url": "javascript:alert(1)"}, "P008", "return_url"),
            ({"payment_detail_kana": "漢字"}, "P008", "payment_detail_kana"),
            ({"fix_params": "customer_age"}, "6005", None),  # a signed value in no canonical form
            (
                {"payment_type": "03", "fix_params": "customer_family_name"},
                "P005",
                "customer_family_name",
            ),
        ],
    )
    def test_bad_fields_answer_their_code(self, server, merchant, runtime, extra, code, field):
        answer = url_mode_answer(post_link(server, link_fields(merchant, **extra), url_mode=True))
        assert (answer["result"], answer["response_code"]) == ("1", code), answer
        if field:
            assert f'"{field}"' in answer["response_detail"]
        assert link_rows(runtime, merchant) == 0

    def test_a_deadline_in_minutes_offers_no_atm_or_cvs(self, server, merchant):
        answer = url_mode_answer(
            post_link(server, link_fields(merchant, payment_term_min="30"), url_mode=True)
        )
        assert "01" not in answer["payment_type"].split(",")
        assert "03" not in answer["payment_type"].split(",")


class TestSdk:
    def test_signed_link_opens_a_page_in_url_mode_and_redirects_in_form_mode(
        self, server, merchant
    ):
        link = signed_link(
            server,
            merchant_id=merchant.merchant_id,
            hash_key=merchant.hash_key,
            trading_id="SDK1",
            amount=2980,
            payment_types=["02", "03"],
            merchant_name="SDK商店",
            return_url="https://shop.example/done",
        )
        opened = link.open_page()
        assert opened.ok, opened
        assert opened.payment_types == ("02", "03")
        assert httpx.get(link.url, timeout=30).headers["location"] == opened.url
        assert 'name="hc"' in link.form_html()


def test_the_readme_merchant_example_opens_a_page(server, merchant):
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The hosted payment page (link type)", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    assert len(code.group(1).strip().splitlines()) <= 10
    script = (
        code.group(1)
        .replace('"30000"', f'"{merchant.merchant_id}"')
        .replace("http://127.0.0.1:8080", server)
    )
    printed = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "KESSAI_HASH_KEY": merchant.hash_key},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    response = httpx.get(printed, timeout=30)
    assert response.status_code == 303
    token_of(response.headers["location"])
