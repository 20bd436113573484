"""`/s/…`: the module telegrams without a client certificate, signed with the telegram hash key
(issue #17), and the IP allow-list (P015) on both paths. Through the real server, in Windows-31J."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from kessai.app import Runtime, create_app
from kessai.core.merchants.commands import NewMerchant, rotate_telegram_hash_key
from kessai.core.merchants.models import TelegramReplay
from kessai.db.models import Base
from kessai.tls.server import build_uvicorn_config
from kessai.web.module.handlers import HANDLERS
from tests.conftest import make_merchant
from tests.support.carrier import RETURN_URL
from tests.support.hashcheck import (
    header,
    parse,
    post_raw,
    request_date,
    s_path,
    send_plain,
    send_signed,
    signed,
)
from tests.support.servers import serve_config
from tests.support.telegrams import OK_CARD, Reply, authorised, form_body

CARD = {"card_number": OK_CARD, "card_valid_term": "1230", "card_conf_number": "123"}
SHOP = "https://shop.example"
PAYER = {"customer_family_name": "山田", "customer_name": "花子"}

Sample = Callable[[str, NewMerchant], dict[str, str | int]]


def _paid_card(server: str, merchant: NewMerchant, **extra: str | int) -> dict[str, str | int]:
    return {"trading_id": "FU1", "payment_id": authorised(server, merchant, "FU1"), **extra}


def _carrier(server: str, merchant: NewMerchant, **extra: str | int) -> dict[str, str | int]:
    reply = send_plain(server, merchant, "100", **_CARRIER_APPLY)
    assert reply.result == "0", reply.fields
    return {"trading_id": "CR1", "payment_id": reply["payment_id"], **extra}


_CARRIER_APPLY: dict[str, str | int] = {
    "trading_id": "CR1",
    "career_type": "4",
    "amount": 1000,
    "return_url": RETURN_URL,
    "cancel_url": SHOP + "/cancel",
}

# One telegram of each kind the gateway answers; prerequisites are made on /n/.
SAMPLES: dict[str, Sample] = {
    "010": lambda s, m: {
        "trading_id": "ATM1",
        "payment_amount": 5000,
        "payment_detail": "テスト",
        "payment_detail_kana": "ﾃｽﾄ",
    },
    "020": lambda s, m: {"trading_id": "A1", "payment_id": "", "payment_amount": 1000, **CARD},
    "021": lambda s, m: _paid_card(s, m),
    "022": lambda s, m: _paid_card(s, m),
    "023": lambda s, m: _paid_card(s, m),
    "025": lambda s, m: {"customer_id": "C1", **CARD},
    "026": lambda s, m: {"customer_id": "C1"},
    "027": lambda s, m: {"customer_id": "C1"},
    "028": lambda s, m: _paid_card(s, m, payment_amount=500, reduction_flag="0"),
    "029": lambda s, m: _paid_card(s, m, payment_amount=500, reduction_flag="0"),
    "030": lambda s, m: {
        "trading_id": "CVS1",
        "cvs_company_id": "00C002",
        "payment_amount": 3300,
        "customer_tel": "0312345678",
        **PAYER,
    },
    "040": lambda s, m: {
        "trading_id": "SLIP1",
        "payment_amount": 3300,
        "customer_zip_code": "1500001",
        "customer_address_1": "東京都渋谷区神宮前1-2-3",
        "customer_tel": "03-1234-5678",
        **PAYER,
    },
    "050": lambda s, m: {**_BANK_NET, "bank_code": "D033"},
    "060": lambda s, m: dict(_BANK_NET),
    "070": lambda s, m: {"trading_id": "VA1", "claim_amount": 10000},
    "091": lambda s, m: {},
    "094": lambda s, m: _paid_card(s, m),
    "100": lambda s, m: dict(_CARRIER_APPLY),
    "101": lambda s, m: _carrier(s, m),
    "102": lambda s, m: _carrier(s, m),
    "103": lambda s, m: _carrier(s, m, amount=500),
    "104": lambda s, m: {
        "career_type": "4",
        "redirect_url": SHOP + "/done",
        "cancel_url": SHOP + "/cancel",
    },
    "105": lambda s, m: {"open_id": "unknown-open-id", "career_type": "4"},
    "116": lambda s, m: {"customer_id": "C1", "customer_card_id": "1", "card_valid_term": "0131"},
    "450": lambda s, m: {
        "trading_id": "TDS1",
        "term_url": SHOP + "/3ds",
        "merchant_name": "テスト商店",
        "card_set_method": "direct",
        "card_number": "4980111122220000",
        "card_valid_term": "1230",
        "payment_amount": 1500,
    },
}
_BANK_NET: dict[str, str | int] = {
    "trading_id": "BN1",
    "amount": 12345,
    "claim_kana": "ｵｶｲﾓﾉﾀﾞｲｷﾝ",
    "claim_kanji": "お買い物代金",
    "return_url": RETURN_URL,
}
KINDS = sorted(HANDLERS)


def test_every_kind_has_a_sample():
    assert sorted(SAMPLES) == KINDS


def both_paths(runtime: Runtime, **kwargs: object) -> NewMerchant:
    return make_merchant(runtime, module_paths=["n", "s"], **kwargs)


def rows(runtime: Runtime) -> dict[str, int]:
    """Rows in every table: a refused telegram changes none of them."""
    with runtime.core.sessions() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def signature_refused(reply: Reply) -> bool:
    detail = reply.fields.get("response_detail", "")
    return reply.code in {"P004", "P015"} or '"hc"' in detail or '"request_date"' in detail


def comparable(kind: str, reply_fields: dict[str, str]) -> tuple[object, ...]:
    """Result, code, detail and the names of the fields (values hold IDs and times)."""
    keys = ("result", "response_code", "response_detail")
    return (*(reply_fields.get(key) for key in keys), sorted(reply_fields))


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_answers_on_s_as_it_does_on_n(server, runtime, kind):
    on_n, on_s = both_paths(runtime), both_paths(runtime)
    n_reply = send_plain(server, on_n, kind, **SAMPLES[kind](server, on_n))
    s_reply = send_signed(server, on_s, kind, **SAMPLES[kind](server, on_s))
    assert comparable(kind, s_reply.fields) == comparable(kind, n_reply.fields)


def test_a_card_payment_runs_end_to_end_on_s(server, runtime):
    merchant = both_paths(runtime)
    auth = send_signed(
        server, merchant, "020", trading_id="wc_1", payment_id="", payment_amount=1500, **CARD
    )
    assert auth.result == "0", auth.fields
    pid = auth["payment_id"]
    capture = send_signed(server, merchant, "022", trading_id="wc_1", payment_id=pid)
    assert capture.result == "0", capture.fields
    inquiry = send_signed(server, merchant, "094", trading_id="wc_1", payment_id=pid)
    assert (inquiry.result, inquiry["payment_status"]) == ("0", "40")


class TestRefusals:
    """Every refusal on /s/ answers its code and stores nothing, for every kind."""

    @pytest.mark.parametrize("kind", KINDS)
    def test_wrong_key_answers_p010_hc(self, server, runtime, kind):
        merchant = both_paths(runtime)
        fields = SAMPLES[kind](server, merchant)
        before = rows(runtime)
        reply = send_signed(server, merchant, kind, key="not-the-key", **fields)
        assert reply.code == "P010" and '"hc"' in reply["response_detail"], reply.fields
        assert rows(runtime) == before

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("minutes", [-11, 11])
    def test_stale_or_future_request_date_answers_p010(self, server, runtime, kind, minutes):
        merchant = both_paths(runtime)
        fields = SAMPLES[kind](server, merchant)
        before = rows(runtime)
        date = request_date(shift=timedelta(minutes=minutes))
        reply = send_signed(server, merchant, kind, date=date, **fields)
        assert reply.code == "P010" and '"request_date"' in reply["response_detail"]
        assert rows(runtime) == before

    @pytest.mark.parametrize("kind", KINDS)
    def test_replay_answers_p010_and_stores_nothing_more(self, server, runtime, kind):
        merchant = both_paths(runtime)
        body = signed(
            header(merchant, kind, **SAMPLES[kind](server, merchant)), merchant.telegram_hash_key
        )
        first = parse(post_raw(server, body, s_path(kind), kind), kind)
        assert not signature_refused(first), first.fields
        before = rows(runtime)
        again = parse(post_raw(server, body, s_path(kind), kind), kind)
        assert again.code == "P010" and '"request_date"' in again["response_detail"]
        assert rows(runtime) == before

    @pytest.mark.parametrize("kind", KINDS)
    def test_wrong_path_for_the_kind_answers_p004(self, server, runtime, kind):
        merchant = both_paths(runtime)
        fields = SAMPLES[kind](server, merchant)
        wrong = "/s/atm/request" if kind != "010" else "/s/card/request"
        before = rows(runtime)
        assert send_signed(server, merchant, kind, path=wrong, **fields).code == "P004"
        assert rows(runtime) == before

    @pytest.mark.parametrize("kind", KINDS)
    def test_merchant_limited_to_n_answers_p004_on_s(self, server, runtime, kind):
        merchant = make_merchant(runtime)  # /n/ only, the default
        fields = SAMPLES[kind](server, merchant)
        before = rows(runtime)
        assert send_signed(server, merchant, kind, **fields).code == "P004"
        assert rows(runtime) == before

    def test_merchant_limited_to_s_answers_p004_on_n(self, server, runtime):
        merchant = make_merchant(runtime, module_paths=["s"])
        assert (
            send_plain(server, merchant, "020", **SAMPLES["020"](server, merchant)).code == "P004"
        )
        assert (
            send_signed(server, merchant, "020", **SAMPLES["020"](server, merchant)).result == "0"
        )

    @pytest.mark.parametrize("missing", ["hc", "request_date"])
    def test_missing_signature_field_answers_p005(self, server, runtime, missing):
        merchant = both_paths(runtime)
        body = signed(
            header(merchant, "020", **SAMPLES["020"](server, merchant)), merchant.telegram_hash_key
        )
        del body[missing]
        before = rows(runtime)
        reply = parse(post_raw(server, body, s_path("020"), "020"), "020")
        assert reply.code == "P005" and f'"{missing}"' in reply["response_detail"]
        assert rows(runtime) == before

    def test_request_date_inside_the_window_is_accepted(self, server, runtime):
        merchant = both_paths(runtime)
        date = request_date(shift=timedelta(minutes=-9))
        assert (
            send_signed(
                server, merchant, "020", date=date, **SAMPLES["020"](server, merchant)
            ).result
            == "0"
        )

    def test_copies_racing_are_accepted_once(self, server, runtime):
        merchant = both_paths(runtime)
        body = signed(
            header(merchant, "020", **SAMPLES["020"](server, merchant)), merchant.telegram_hash_key
        )
        results: list[str] = []

        def post() -> None:
            results.append(parse(post_raw(server, body, s_path("020"), "020"), "020").code)

        threads = [threading.Thread(target=post) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [""] + ["P010"] * 5


class TestCanonicalForms:
    """Signed fields in any other form are refused before the hash is checked."""

    def refused(self, server, runtime, merchant, kind, fields, code, field=None):
        before = rows(runtime)
        body = signed(header(merchant, kind, **fields), merchant.telegram_hash_key)
        reply = parse(post_raw(server, body, s_path(kind), kind), kind)
        assert reply.code == code, reply.fields
        if field:
            assert f'"{field}"' in reply["response_detail"]
        assert rows(runtime) == before

    def test_payment_id_with_a_leading_zero(self, server, runtime):
        merchant = both_paths(runtime)
        fields = _paid_card(server, merchant)
        fields["payment_id"] = "0" + str(fields["payment_id"])
        self.refused(server, runtime, merchant, "022", fields, "P010", "payment_id")

    def test_merchant_id_with_a_leading_zero(self, server, runtime):
        merchant = both_paths(runtime)
        fields = header(merchant, "020", **SAMPLES["020"](server, merchant))
        fields["merchant_id"] = "0" + str(fields["merchant_id"])
        before = rows(runtime)
        body = signed(fields, merchant.telegram_hash_key)
        assert parse(post_raw(server, body, s_path("020"), "020"), "020").code == "P002"
        assert rows(runtime) == before

    @pytest.mark.parametrize("kind", ["021", "023"])
    def test_void_or_cancel_by_trading_id_only(self, server, runtime, kind):
        merchant = both_paths(runtime)
        fields = _paid_card(server, merchant)
        del fields["payment_id"]
        self.refused(server, runtime, merchant, kind, fields, "P005", "payment_id")

    def test_payment_id_on_a_first_telegram(self, server, runtime):
        merchant = both_paths(runtime)
        fields = {**SAMPLES["020"](server, merchant), "payment_id": "12"}
        self.refused(server, runtime, merchant, "020", fields, "P010", "payment_id")

    @pytest.mark.parametrize(
        ("kind", "field"),
        [
            ("021", "payment_amount"),
            ("023", "payment_amount"),
            ("094", "payment_amount"),
            ("022", "amount"),  # 022's one exception is payment_amount, the plugin's name
        ],
    )
    def test_amount_on_a_kind_without_one(self, server, runtime, kind, field):
        merchant = both_paths(runtime)
        fields = _paid_card(server, merchant, **{field: 1000})
        self.refused(server, runtime, merchant, kind, fields, "P010", field)

    def test_unused_payment_amount_of_022_in_another_spelling(self, server, runtime):
        merchant = both_paths(runtime)
        fields = _paid_card(server, merchant, payment_amount="01000")
        self.refused(server, runtime, merchant, "022", fields, "P008", "payment_amount")

    def test_the_other_amount_name(self, server, runtime):
        merchant = both_paths(runtime)
        fields = {**SAMPLES["100"](server, merchant), "payment_amount": 1000}
        self.refused(server, runtime, merchant, "100", fields, "P010", "payment_amount")

    @pytest.mark.parametrize("amount", ["01500.00", "1500.", ".5", "1,500"])
    def test_decimal_amount_of_450_in_another_spelling(self, server, runtime, amount):
        merchant = both_paths(runtime)
        fields = {**SAMPLES["450"](server, merchant), "payment_amount": amount}
        self.refused(server, runtime, merchant, "450", fields, "P010", "payment_amount")

    @pytest.mark.parametrize(
        ("date", "code"),
        [
            ("2026120412000", "P009"),
            ("２０２６１２０４１２００００", "P008"),
            ("20261304120000", "P010"),
            ("2026120412000 ", "P008"),
        ],
    )
    def test_malformed_request_date(self, server, runtime, date, code):
        merchant = both_paths(runtime)
        fields = {
            **header(merchant, "020", **SAMPLES["020"](server, merchant)),
            "request_date": date,
        }
        before = rows(runtime)
        reply = parse(post_raw(server, {**fields, "hc": "0" * 64}, s_path("020"), "020"), "020")
        assert (reply.code, '"request_date"' in reply["response_detail"]) == (code, True)
        assert rows(runtime) == before

    def test_upper_case_hc(self, server, runtime):
        merchant = both_paths(runtime)
        body = signed(
            header(merchant, "020", **SAMPLES["020"](server, merchant)), merchant.telegram_hash_key
        )
        body["hc"] = str(body["hc"]).upper()
        reply = parse(post_raw(server, body, s_path("020"), "020"), "020")
        assert reply.code == "P008" and '"hc"' in reply["response_detail"]


class TestShiftedFields:
    """The same signature over the same bytes, split differently: refused or harmless."""

    def resend(self, server, merchant, kind, body, **changes):
        forged = {**body, **changes}
        forged = {k: v for k, v in forged.items() if v is not None}
        return parse(post_raw(server, forged, s_path(kind), kind), kind)

    def test_amount_dropped_into_payment_id(self, server, runtime):
        merchant = both_paths(runtime)
        fields = _paid_card(server, merchant, payment_amount=500, reduction_flag="0")
        body = signed(header(merchant, "028", **fields), merchant.telegram_hash_key)
        pid = str(fields["payment_id"])
        before = rows(runtime)
        reply = self.resend(
            server, merchant, "028", body, payment_id=pid + "500", payment_amount=None
        )
        assert reply.code == "P005"  # 028 has an amount part: it cannot be dropped
        assert rows(runtime) == before

    def test_payment_id_moved_into_trading_id_spends_the_signature_on_no_payment(
        self, server, runtime
    ):
        """022 may name its payment by trading_id alone (the WooCommerce plugin does): the re-cut
        passes the hash, finds no payment, and being first makes the original a replay — what
        the allow-list and the window must keep an attacker from (guide, "Risks")."""
        merchant = both_paths(runtime)
        fields = _paid_card(server, merchant)
        pid = str(fields["payment_id"])
        body = signed(header(merchant, "022", **fields), merchant.telegram_hash_key)
        forged = self.resend(server, merchant, "022", body, trading_id=f"FU1{pid}", payment_id=None)
        assert forged.code == "2006", forged.fields
        original = parse(post_raw(server, body, s_path("022"), "022"), "022")
        assert original.code == "P010" and '"request_date"' in original["response_detail"]
        status = send_plain(server, merchant, "094", payment_id=pid)["payment_status"]
        assert status == "20"


class TestAllowList:
    """P015 on /n/ and /s/: the test server's clients come from 127.0.0.1."""

    @pytest.mark.parametrize("signed_path", [False, True])
    def test_address_outside_the_list_answers_p015(self, server, runtime, signed_path):
        merchant = both_paths(runtime, ip_allow_list=["192.0.2.0/24", "2001:db8::/32"])
        fields = SAMPLES["020"](server, merchant)
        before = rows(runtime)
        send = send_signed if signed_path else send_plain
        assert send(server, merchant, "020", **fields).code == "P015"
        assert rows(runtime) == before

    @pytest.mark.parametrize("signed_path", [False, True])
    def test_address_inside_the_list_passes(self, server, runtime, signed_path):
        merchant = both_paths(runtime, ip_allow_list=["::1", "127.0.0.0/8"])
        send = send_signed if signed_path else send_plain
        assert send(server, merchant, "020", **SAMPLES["020"](server, merchant)).result == "0"

    def test_production_merchant_needs_a_list_for_s(self, server, runtime):
        merchant = both_paths(runtime, mode="production")
        fields = SAMPLES["020"](server, merchant)
        assert send_signed(server, merchant, "020", **fields).code == "P015"
        assert send_plain(server, merchant, "020", **fields).code != "P015"


class TestKeyRotation:
    def rotate(self, runtime, merchant, overlap):
        with runtime.core.sessions.begin() as session:
            return rotate_telegram_hash_key(
                session, merchant.merchant_id, now=runtime.core.clock.now(), overlap=overlap
            )

    def test_old_key_works_during_the_overlap_and_not_after(self, server, runtime, clock):
        merchant = both_paths(runtime)
        old = merchant.telegram_hash_key
        new = self.rotate(runtime, merchant, timedelta(hours=24))
        sample = SAMPLES["020"]
        assert (
            send_signed(server, merchant, "020", key=new, **sample(server, merchant)).result == "0"
        )
        assert (
            send_signed(server, merchant, "020", key=old, **sample(server, merchant)).result == "0"
        )
        clock.advance(timedelta(hours=25))
        date = request_date(runtime.core.clock.now())
        reply = send_signed(server, merchant, "020", key=old, date=date, **sample(server, merchant))
        assert reply.code == "P010" and '"hc"' in reply["response_detail"]
        replay_rows = select(func.count()).where(TelegramReplay.merchant_id == merchant.merchant_id)
        with runtime.core.sessions() as session:
            assert session.scalar(replay_rows) == 2

    def test_no_overlap_ends_the_old_key_at_once(self, server, runtime):
        merchant = both_paths(runtime)
        old = merchant.telegram_hash_key
        new = self.rotate(runtime, merchant, timedelta(0))
        assert (
            send_signed(server, merchant, "020", key=new, **SAMPLES["020"](server, merchant)).result
            == "0"
        )
        reply = send_signed(server, merchant, "020", key=old, **SAMPLES["020"](server, merchant))
        assert reply.code == "P010" and '"hc"' in reply["response_detail"]


class TestBehindAProxy:
    """The client address comes from X-Forwarded-For only when the peer is a trusted proxy."""

    def post_via(self, base_url: str, merchant: NewMerchant, forwarded: str) -> Reply:
        body = signed(
            header(merchant, "020", **SAMPLES["020"](base_url, merchant)),
            merchant.telegram_hash_key,
        )
        response = httpx.post(
            base_url + s_path("020"),
            content=form_body(body),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-For": forwarded,
            },
            timeout=30,
        )
        return parse(response.content, "020")

    def test_trusted_proxys_header_decides(self, runtime):
        settings = runtime.settings.model_copy(update={"console_trusted_proxies": ["127.0.0.1"]})
        proxied = Runtime(settings=settings, engine=runtime.engine, core=runtime.core)
        merchant = both_paths(runtime, ip_allow_list=["203.0.113.0/24"])
        with serve_config(gateway_config(create_app(proxied))) as base_url:
            assert self.post_via(base_url, merchant, "198.51.100.1, 203.0.113.9").result == "0"
            assert self.post_via(base_url, merchant, "203.0.113.9, 198.51.100.1").code == "P015"

    def test_header_from_an_untrusted_peer_is_ignored(self, runtime):
        merchant = both_paths(runtime, ip_allow_list=["203.0.113.0/24"])
        with serve_config(gateway_config(create_app(runtime))) as base_url:
            reply = self.post_via(base_url, merchant, "203.0.113.9")
        assert reply.code == "P015", reply.fields


def gateway_config(app: object) -> uvicorn.Config:
    """The server as `kessai serve` configures it (uvicorn's proxy-header rewriting off)."""
    config = build_uvicorn_config(app, host="127.0.0.1", port=0, http="h11")
    assert config.proxy_headers is False
    return config


class TestWooCommercePlugin:
    """The requests of PAYGENT's WooCommerce plugin with "Telegram hash check" on, field for field
    in its order, as docs/user/module-type.md ("The WooCommerce plugin") describes them: each is
    answered on /s/ exactly as the same telegram on /n/ (the plugin with the setting off).

    Kessai has no card tokens yet: where the plugin authorises with `card_token`, the 020 here
    carries card data instead; the 022 carries the plugin's fields as they are (022 ignores them).
    """

    @staticmethod
    def sale_fields(order: int) -> dict[str, str | int]:
        """`process_payment`'s fields for a new card, paid at once: the 020, and with the
        immediate-sale setting the same fields again as the 022 (trading_id, an empty payment_id,
        payment_amount)."""
        return {
            "trading_id": f"wc_{order}",
            "payment_id": "",
            "security_code_use": 1,
            "3dsecure_ryaku": 1,
            "payment_amount": 1500,
            "card_token": "tok_0123456789abcdef0123456789",
            "payment_class": 10,
            "term_url": f"{SHOP}/checkout/order-received/{order}/?key=wc_order_Ab12Cd34",
        }

    @staticmethod
    def authorisation(sale: dict[str, str | int]) -> dict[str, str | int]:
        return {**{k: v for k, v in sale.items() if k != "card_token"}, **CARD}

    @staticmethod
    def status(server: str, merchant: NewMerchant, payment_id: str) -> tuple[str, str]:
        reply = send_plain(server, merchant, "094", payment_id=payment_id)
        return reply["payment_status"], reply["payment_amount"]

    @pytest.mark.parametrize(
        "capture",
        [
            pytest.param(lambda sale: sale, id="immediate-sale"),
            pytest.param(lambda sale: {**sale, "payment_amount": 999}, id="other-amount-ignored"),
            pytest.param(lambda sale: {"trading_id": sale["trading_id"]}, id="after-3ds1-return"),
        ],
    )
    def test_capture_by_trading_id_answers_as_on_n(self, server, runtime, capture):
        answers = {}
        for send in (send_plain, send_signed):
            merchant = both_paths(runtime)
            sale = self.sale_fields(2001)
            auth = send(server, merchant, "020", **self.authorisation(sale))
            assert auth.result == "0", auth.fields
            reply = send(server, merchant, "022", **capture(sale))
            status = self.status(server, merchant, auth["payment_id"])
            answers[send] = (comparable("022", reply.fields), status)
        assert answers[send_signed] == answers[send_plain]
        assert answers[send_signed][0][0] == "0" and answers[send_signed][1] == ("40", "1500")

    @staticmethod
    def refund_fields(order: int, amount: int) -> dict[str, str | int]:
        """`process_refund` + `paygent_process_refund` for a subscription order, a part of the
        total: payment_amount, reduction_flag, trading_id; payment_id unset."""
        return {"payment_amount": amount, "reduction_flag": 1, "trading_id": f"wc_{order}"}

    @pytest.mark.parametrize(("kind", "captured"), [("028", False), ("029", True)])
    def test_subscription_partial_refund_by_trading_id_answers_as_on_n(
        self, server, runtime, kind, captured
    ):
        answers = {}
        for send in (send_plain, send_signed):
            merchant = both_paths(runtime)
            pid = authorised(server, merchant, "wc_3001")
            if captured:
                assert send_plain(server, merchant, "022", payment_id=pid).result == "0"
            check = send(server, merchant, "094", payment_id=pid, trading_id="wc_3001")
            assert check.result == "0", check.fields
            reply = send(server, merchant, kind, **self.refund_fields(3001, 400))
            assert reply.result == "0", reply.fields
            status = self.status(server, merchant, reply["payment_id"])
            # A second one: the order now has two payments; by trading_id alone 028/029 find the
            # payment as 094 does, the newest (the correction's), on /n/ and so on /s/.
            again = send(server, merchant, kind, **self.refund_fields(3001, 300))
            answers[send] = (comparable(kind, reply.fields), status, comparable(kind, again.fields))
        assert answers[send_signed] == answers[send_plain]
        assert answers[send_signed][1] == ("40" if captured else "20", "600")
        assert answers[send_signed][2][0] == "0"

    def test_capture_by_a_trading_id_two_payments_share_answers_2005_as_on_n(self, server, runtime):
        codes = {}
        for send in (send_plain, send_signed):
            merchant = both_paths(runtime)
            sale = self.sale_fields(2002)
            for _ in range(2):  # as after the plugin's retry of a declined 020 (made on /n/)
                assert send_plain(server, merchant, "020", **self.authorisation(sale)).result == "0"
            codes[send] = send(server, merchant, "022", **sale).code
        assert codes[send_signed] == codes[send_plain] == "2005"

    @pytest.mark.parametrize("amount", ["1500.0", "1500.00", "1500"])
    def test_3ds2_authentication_with_a_decimal_amount_answers_as_on_n(
        self, server, runtime, amount
    ):
        answers = {}
        for send in (send_plain, send_signed):
            merchant = both_paths(runtime)
            stored = send_plain(server, merchant, "025", customer_id="wc7", **CARD)
            assert stored.result == "0", stored.fields
            reply = send(server, merchant, "450", **self.threeds_fields(stored, amount))
            answers[send] = comparable("450", reply.fields)
        assert answers[send_signed] == answers[send_plain]
        assert answers[send_signed][0] == "0"

    @staticmethod
    def threeds_fields(stored: Reply, amount: str) -> dict[str, str | int]:
        """`process_payment` with 3-D Secure 2 on, a logged-in buyer paying with a stored card
        (`set_stored_card`, then `set_send_data_for_tds2`, which drops card_token)."""
        return {
            "trading_id": "wc_4001",
            "payment_id": "",
            "security_code_use": 1,
            "payment_amount": amount,
            "customer_card_id": stored["customer_card_id"],
            "security_code_token": 1,
            "stock_card_mode": 1,
            "customer_id": "wc7",
            "payment_class": 10,
            "term_url": f"{SHOP}/checkout/order-pay/4001/?pay_for_order=true&key=wc_order_Ef56",
            "http_accept": "text/html,application/xhtml+xml",
            "http_user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            "merchant_name": "テスト商店",
            "authentication_type": "01",
            "card_set_method": "customer",
            "cardholder_name": "",
            "login_type": "02",
            "account_create_date": "20250401",
            "bill_address_city": "渋谷区",
            "bill_address_country": 392,
            "bill_address_line1": "神宮前1-2-3",
            "bill_address_post_code": "1500001",
            "bill_address_state": "13",
            "email_address": "hanako@example.jp",
            "home_phone_cc": 81,
            "home_phone_subscriber": "312345678",
        }
