"""`kessai.client` in the telegram hash-check mode (`/s/…`) against the real gateway: plain HTTP,
and over TLS without a client certificate where `/n/` insists on one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kessai.app import Runtime, create_app
from kessai.client import KessaiClient
from kessai.core.merchants.commands import NewMerchant
from kessai.tls.ca import (
    ensure_server_certificate,
    load_or_create_merchant_ca,
    merchant_ca_file,
    server_ca_file,
)
from kessai.tls.server import build_uvicorn_config
from tests.conftest import make_merchant
from tests.support.servers import serve_app, serve_config

CARD = "4900000000000000"


def hash_client(base_url: str, merchant: NewMerchant, **kwargs: object) -> KessaiClient:
    return KessaiClient(
        base_url,
        merchant_id=merchant.merchant_id,
        connect_id=merchant.connect_id,
        connect_password=merchant.connect_password,
        hash_check=True,
        telegram_hash_key=merchant.telegram_hash_key,
        **kwargs,
    )  # type: ignore[arg-type]


def hash_merchant(runtime: Runtime) -> NewMerchant:
    return make_merchant(runtime, module_paths=["s"])


def test_card_lifecycle_in_hash_check_mode(server, runtime):
    merchant = hash_merchant(runtime)
    with hash_client(server, merchant) as paygent:
        auth = paygent.authorize(
            trading_id="HC1", payment_amount=5000, card_number=CARD, card_valid_term="1230"
        )
        assert auth.ok, auth.response_code
        corrected = paygent.correct_authorization(payment_id=auth.payment_id, payment_amount=4000)
        assert corrected.ok, corrected.response_code
        assert paygent.capture(payment_id=corrected.payment_id).ok
        assert paygent.capture(payment_id=corrected.payment_id).ok  # the same second: waits
        inquiry = paygent.inquire(trading_id="HC1", payment_id=corrected.payment_id)
        assert inquiry.get("payment_status") == "40"
        assert paygent.cancel_capture(payment_id=corrected.payment_id).ok


def test_void_without_payment_id_is_refused_locally(server, runtime):
    with (
        hash_client(server, hash_merchant(runtime)) as paygent,
        pytest.raises(ValueError, match="payment_id"),
    ):
        paygent.void(trading_id="HC1")


def test_capture_and_correction_by_trading_id_in_hash_check_mode(server, runtime):
    with hash_client(server, hash_merchant(runtime)) as paygent:
        auth = paygent.authorize(
            trading_id="HC3", payment_amount=5000, card_number=CARD, card_valid_term="1230"
        )
        assert auth.ok, auth.response_code
        corrected = paygent.correct_authorization(trading_id="HC3", payment_amount=4000)
        assert corrected.ok, corrected.response_code
        assert paygent.capture(payment_id=corrected.payment_id).ok
        refund = paygent.correct_capture(trading_id="HC3", payment_amount=500, reduction_flag=True)
        assert refund.ok, refund.response_code
        inquiry = paygent.inquire(payment_id=refund.payment_id)
        assert (inquiry.get("payment_status"), inquiry.get("payment_amount")) == ("40", "3500")


def test_a_wrong_clock_answers_p010_request_date(server, runtime):
    merchant = hash_merchant(runtime)
    slow = lambda: datetime.now(UTC) - timedelta(minutes=30)  # noqa: E731
    with hash_client(server, merchant, now=slow) as paygent:
        auth = paygent.authorize(
            trading_id="HC2", payment_amount=100, card_number=CARD, card_valid_term="1230"
        )
    assert (auth.ok, auth.response_code) == (False, "P010")
    assert "request_date" in auth.response_detail


def test_lost_answer_is_recovered_by_an_inquiry_by_trading_id(runtime):
    merchant = hash_merchant(runtime)
    with serve_app(create_app(runtime), http="h11") as base_url:
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

        with hash_client(base_url, merchant, transport=LosesFirstAnswer()) as paygent:
            auth = paygent.authorize(
                trading_id="HCLOST",
                payment_amount=777,
                card_number=CARD,
                card_valid_term="1230",
                retry_on_timeout=True,
            )
    assert auth.ok and auth.recovered
    assert calls == ["/s/card/request", "/s/ref/paymentref"]


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


def test_over_tls_s_needs_no_certificate_where_n_does(tls_gateway, runtime, home):
    merchant = make_merchant(runtime, module_paths=["n", "s"])
    ca = str(server_ca_file(home / "var"))
    with hash_client(tls_gateway, merchant, ca=ca) as paygent:
        auth = paygent.authorize(
            trading_id="HCTLS", payment_amount=100, card_number=CARD, card_valid_term="1230"
        )
    assert auth.ok, auth.response_code
    with KessaiClient(
        tls_gateway,
        merchant_id=merchant.merchant_id,
        connect_id=merchant.connect_id,
        connect_password=merchant.connect_password,
        ca=ca,
    ) as plain:
        refused = plain.authorize(
            trading_id="HCTLS2", payment_amount=100, card_number=CARD, card_valid_term="1230"
        )
    assert refused.response_code == "P016"
