"""The connection module (kessai.client) against the real gateway: plain HTTP as in the demo, and
mutual TLS with merchant certificates issued by Kessai's merchant CA (P016 without one)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kessai.app import Runtime, create_app
from kessai.client import KessaiClient, SandboxClient, SandboxError
from kessai.core.merchants.commands import NewMerchant
from kessai.tls.ca import (
    ensure_server_certificate,
    issue_merchant_certificate,
    load_or_create_merchant_ca,
    merchant_ca_file,
    server_ca_file,
)
from kessai.tls.server import build_uvicorn_config
from tests.conftest import make_merchant
from tests.support.servers import serve_config

CARD = "4900000000000000"


def client(base_url: str, merchant: NewMerchant, **kwargs: object) -> KessaiClient:
    return KessaiClient(
        base_url,
        merchant_id=merchant.merchant_id,
        connect_id=merchant.connect_id,
        connect_password=merchant.connect_password,
        **kwargs,
    )  # type: ignore[arg-type]


class TestPlainHttp:
    def test_full_card_lifecycle_through_the_sdk(self, server, merchant):
        with client(server, merchant) as paygent:
            auth = paygent.authorize(
                trading_id="SDK1",
                payment_amount=5000,
                card_number=CARD,
                card_valid_term="1230",
                card_conf_number="123",
            )
            assert auth.ok, auth.response_code
            assert auth.masked_card_number == "************0000"
            assert paygent.inquire(payment_id=auth.payment_id).get("payment_status") == "20"
            corrected = paygent.correct_authorization(
                payment_id=auth.payment_id, payment_amount=4000
            )
            assert corrected.ok and corrected.payment_id != auth.payment_id
            assert paygent.capture(payment_id=corrected.payment_id).ok
            assert paygent.capture(payment_id=corrected.payment_id).ok  # repeat: success
            assert paygent.cancel_capture(payment_id=corrected.payment_id).ok
            assert paygent.inquire(payment_id=corrected.payment_id).get("payment_status") == "60"
            assert paygent.void(payment_id=auth.payment_id).ok  # already 32: success

    def test_stored_cards_through_the_sdk(self, server, merchant):
        with client(server, merchant) as paygent:
            card = paygent.register_card(customer_id="C9", card_number=CARD, card_valid_term="1230")
            assert card.ok
            listed = paygent.list_cards(customer_id="C9")
            assert [c.customer_card_id for c in listed.cards] == [card.get("customer_card_id")]
            auth = paygent.authorize(
                trading_id="SDK2",
                payment_amount=900,
                customer_id="C9",
                customer_card_id=card.get("customer_card_id"),
            )
            assert auth.ok, auth.response_code
            assert paygent.delete_card(customer_id="C9").ok

    def test_decline_is_a_result_not_an_exception(self, server, merchant):
        with client(server, merchant) as paygent:
            auth = paygent.authorize(
                trading_id="SDK3",
                payment_amount=100,
                card_number="4900000000008212",
                card_valid_term="1230",
            )
        assert (auth.ok, auth.response_code, auth.response_detail) == (False, "2001", "1G12")
        assert "4900000000008212" not in repr(auth)


class TestPaidLater:
    """ATM and CVS end to end through the SDK: apply, pay in the sandbox, inquire, expire."""

    def sandbox(self, server: str, merchant: NewMerchant) -> SandboxClient:
        return SandboxClient(
            server,
            merchant_id=merchant.merchant_id,
            connect_id=merchant.connect_id,
            connect_password=merchant.connect_password,
        )

    def test_atm_apply_pay_inquire(self, server, merchant):
        with client(server, merchant) as paygent, self.sandbox(server, merchant) as tool:
            applied = paygent.apply_atm(
                trading_id="ATMSDK",
                payment_amount=12000,
                payment_detail="ご注文代金",
                payment_detail_kana="ｺﾞﾁｭｳﾓﾝﾀﾞｲｷﾝ",
                payment_limit_date=7,
            )
            assert applied.ok, applied.response_code
            assert len(applied.get("customer_number")) > 0 and applied.payment_limit_date
            assert tool.pay(applied.payment_id)["payment_status"] == "40"
            inquiry = paygent.inquire(payment_id=applied.payment_id)
            assert (inquiry.payment_type, inquiry.payment_status) == ("01", "40")
            assert inquiry.payment_amount == 12000

    def test_cvs_paid_then_the_clock_passes_its_deadline_and_it_stays_paid(self, server, merchant):
        with client(server, merchant) as paygent, self.sandbox(server, merchant) as tool:
            kept = paygent.apply_cvs(
                trading_id="CVSSDK1",
                payment_amount=3300,
                cvs_company_id="00C001",
                sales_type="1",
                customer_family_name="山田",
                customer_name="花子",
                customer_tel="0312345678",
                payment_limit_date=3,
            )
            dropped = paygent.apply_cvs(
                trading_id="CVSSDK2",
                payment_amount=1100,
                cvs_type="02",
                customer_family_name="山田",
                customer_name="太郎",
                customer_tel="0312345678",
                payment_limit_date=3,
            )
            assert kept.ok and dropped.ok and kept.receipt_print_url
            assert tool.pay(kept.payment_id)["payment_status"] == "43"
            assert tool.move(kept.payment_id, "40")["payment_status"] == "40"
            assert tool.advance_clock(days=5)["expired"] == 1
            assert paygent.inquire(payment_id=kept.payment_id).payment_status == "40"
            assert paygent.inquire(payment_id=dropped.payment_id).payment_status == "12"
            with pytest.raises(SandboxError) as refused:
                tool.pay(dropped.payment_id)
            assert refused.value.code == "2004"


class TestSafeRetry:
    def test_lost_answer_is_recovered_by_inquiry_without_a_second_charge(self, runtime, tmp_path):
        """The first 020 reaches the gateway and is authorised, but its answer is lost (the
        connection is cut before the reply is read): the SDK inquires and returns that payment."""
        from tests.support.servers import serve_app

        merchant = make_merchant(runtime)
        app = create_app(runtime)
        with serve_app(app, http="h11") as base_url:
            real = httpx.HTTPTransport()
            calls: list[str] = []

            class LosesFirstAnswer(httpx.BaseTransport):
                def handle_request(self, request: httpx.Request) -> httpx.Response:
                    calls.append(request.url.path)
                    response = real.handle_request(request)
                    if len(calls) == 1:
                        response.read()
                        raise httpx.ReadTimeout("answer lost", request=request)
                    return response

            with client(base_url, merchant, transport=LosesFirstAnswer()) as paygent:
                auth = paygent.authorize(
                    trading_id="LOST1",
                    payment_amount=777,
                    card_number=CARD,
                    card_valid_term="1230",
                    retry_on_timeout=True,
                )
        assert auth.ok and auth.recovered
        assert calls == ["/n/card/request", "/n/ref/paymentref"]
        with runtime.core.sessions() as session:
            from sqlalchemy import func, select

            from kessai.core.payments.models import Payment

            count = session.scalar(
                select(func.count()).where(
                    Payment.merchant_id == merchant.merchant_id, Payment.trading_id == "LOST1"
                )
            )
        assert count == 1


@pytest.fixture(scope="module")
def tls_gateway(runtime: Runtime, home: Path) -> Iterator[str]:
    var = home / "var"
    load_or_create_merchant_ca(var)
    cert, key = ensure_server_certificate(var, ["127.0.0.1"])
    config = build_uvicorn_config(
        create_app(runtime, require_client_cert=True),
        host="127.0.0.1",
        port=0,
        cert=cert,
        key=key,
        client_ca=merchant_ca_file(var),
        http="h11",
        log_level="warning",
    )
    with serve_config(config) as url:
        yield url


def issued(home: Path, merchant: NewMerchant, tmp_path: Path) -> tuple[str, str]:
    cert = issue_merchant_certificate(home / "var", merchant.merchant_id, tmp_path, password="x")
    return str(cert.cert_path), str(cert.key_path)


class TestMutualTls:
    def test_merchant_certificate_is_accepted(self, tls_gateway, runtime, home, tmp_path):
        merchant = make_merchant(runtime)
        with client(
            tls_gateway,
            merchant,
            cert=issued(home, merchant, tmp_path),
            ca=str(server_ca_file(home / "var")),
        ) as paygent:
            auth = paygent.authorize(
                trading_id="TLS1", payment_amount=100, card_number=CARD, card_valid_term="1230"
            )
        assert auth.ok, auth.response_code

    def test_no_certificate_answers_p016_and_stores_nothing(self, tls_gateway, runtime, home):
        merchant = make_merchant(runtime)
        with client(tls_gateway, merchant, ca=str(server_ca_file(home / "var"))) as paygent:
            auth = paygent.authorize(
                trading_id="TLS2", payment_amount=100, card_number=CARD, card_valid_term="1230"
            )
        assert (auth.ok, auth.response_code) == (False, "P016")

    def test_another_merchants_certificate_answers_p016(self, tls_gateway, runtime, home, tmp_path):
        merchant, other = make_merchant(runtime), make_merchant(runtime)
        with client(
            tls_gateway,
            merchant,
            cert=issued(home, other, tmp_path),
            ca=str(server_ca_file(home / "var")),
        ) as paygent:
            auth = paygent.authorize(
                trading_id="TLS3", payment_amount=100, card_number=CARD, card_valid_term="1230"
            )
        assert auth.response_code == "P016"

    def test_certificate_from_another_ca_is_refused_at_the_handshake(
        self, tls_gateway, runtime, home, tmp_path
    ):
        merchant = make_merchant(runtime)
        stranger = issue_merchant_certificate(
            tmp_path / "other-ca", merchant.merchant_id, tmp_path / "out", password="x"
        )
        context = ssl.create_default_context(cafile=str(server_ca_file(home / "var")))
        context.load_cert_chain(str(stranger.cert_path), str(stranger.key_path))
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            httpx.post(
                tls_gateway + "/n/card/request", content=b"telegram_kind=020", verify=context
            )
