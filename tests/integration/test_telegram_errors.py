"""Bad input at the module-type face: the protocol's code and message, HTTP 200, nothing stored."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from kessai.app import Runtime
from kessai.core.merchants.commands import NewMerchant
from kessai.core.payments.models import Payment
from kessai.kit.errors import AuthError
from tests.support.telegrams import form_body, header, parse_reply, post

CARD = "4900000000000000"


def auth_fields(merchant: NewMerchant, **overrides: str | int) -> dict[str, str | int]:
    fields = header(
        merchant,
        "020",
        trading_id="E1",
        payment_amount=1000,
        card_number=CARD,
        card_valid_term="1230",
        card_conf_number="123",
    )
    fields.update(overrides)
    return fields


def without(fields: dict[str, str | int], name: str) -> dict[str, str | int]:
    return {k: v for k, v in fields.items() if k != name}


def payments(runtime: Runtime, merchant: NewMerchant) -> int:
    with runtime.core.sessions() as session:
        return (
            session.scalar(select(func.count()).where(Payment.merchant_id == merchant.merchant_id))
            or 0
        )


class TestAuthentication:
    @pytest.mark.parametrize("name", ["merchant_id", "connect_id", "connect_password"])
    def test_missing_credential_answers_p001(self, server, merchant, runtime, name):
        reply = post(server, without(auth_fields(merchant), name))
        assert (reply.result, reply.code) == ("1", "P001")
        assert payments(runtime, merchant) == 0

    @pytest.mark.parametrize("name", ["connect_id", "connect_password"])
    def test_wrong_credential_answers_p002(self, server, merchant, runtime, name):
        reply = post(server, auth_fields(merchant, **{name: "wrong"}))
        assert reply.code == "P002"
        assert reply["response_detail"].startswith("認証に失敗しました")
        assert payments(runtime, merchant) == 0

    def test_unknown_merchant_answers_p002(self, server, merchant):
        assert post(server, auth_fields(merchant, merchant_id="999999998")).code == "P002"

    def test_non_digit_merchant_id_answers_p002(self, server, merchant):
        assert post(server, auth_fields(merchant, merchant_id="ＡＢＣ")).code == "P002"

    def test_wrong_version_answers_p003(self, server, merchant):
        assert post(server, auth_fields(merchant, telegram_version="2.0")).code == "P003"


class TestKindsAndPaths:
    def test_unknown_kind_answers_p010(self, server, merchant):
        reply = post(server, auth_fields(merchant, telegram_kind="9Z9"))
        assert (reply.code, reply["response_detail"]) == (
            "P010",
            '"telegram_kind"パラメータの値は不正な値です。',
        )

    def test_kind_not_offered_answers_p007(self, server, merchant):
        # WebMoney (150): PAYGENT has it, Kessai does not offer it.
        reply = post(server, auth_fields(merchant, telegram_kind="150"), path="/n/emoney/request")
        assert reply.code == "P007"

    def test_card_kind_on_cvs_path_answers_p004(self, server, merchant, runtime):
        reply = post(server, auth_fields(merchant), path="/n/conveni/request")
        assert reply.code == "P004"
        assert payments(runtime, merchant) == 0


class TestFields:
    def test_missing_amount_answers_p005_with_field_name(self, server, merchant, runtime):
        reply = post(server, without(auth_fields(merchant), "payment_amount"))
        assert (reply.code, reply["response_detail"]) == (
            "P005",
            '"payment_amount"パラメータが存在しません。',
        )
        assert payments(runtime, merchant) == 0

    def test_empty_amount_answers_p006(self, server, merchant):
        assert post(server, auth_fields(merchant, payment_amount="")).code == "P006"

    def test_full_width_digits_answer_p008(self, server, merchant, runtime):
        reply = post(server, auth_fields(merchant, payment_amount="１０００"))
        assert (reply.code, reply["response_detail"]) == (
            "P008",
            '"payment_amount"パラメータの値はタイプが不正です。',
        )
        assert payments(runtime, merchant) == 0

    def test_negative_amount_answers_p008(self, server, merchant):
        assert post(server, auth_fields(merchant, payment_amount="-100")).code == "P008"

    def test_trading_id_over_25_bytes_answers_p009(self, server, merchant, runtime):
        assert post(server, auth_fields(merchant, trading_id="A" * 26)).code == "P009"
        assert payments(runtime, merchant) == 0

    def test_trading_id_with_hyphen_answers_p008(self, server, merchant):
        assert post(server, auth_fields(merchant, trading_id="ORD-1")).code == "P008"

    def test_bad_payment_class_answers_p010(self, server, merchant):
        assert post(server, auth_fields(merchant, payment_class="99")).code == "P010"

    def test_missing_card_number_answers_p005(self, server, merchant, runtime):
        reply = post(server, without(auth_fields(merchant), "card_number"))
        assert (reply.code, reply["response_detail"]) == (
            "P005",
            '"card_number"パラメータが存在しません。',
        )
        assert payments(runtime, merchant) == 0

    def test_impossible_expiry_month_answers_p010(self, server, merchant, runtime):
        assert post(server, auth_fields(merchant, card_valid_term="1330")).code == "P010"
        assert payments(runtime, merchant) == 0

    def test_characters_outside_windows_31j_are_refused(self, server, merchant, runtime):
        body = form_body(without(auth_fields(merchant), "trading_id")) + b"&trading_id=%F0%9F%98%80"
        response = httpx.post(
            server + "/n/card/request",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        reply = parse_reply(response.content)
        assert response.status_code == 200
        assert reply.result == "1" and reply.code.startswith("P0")
        assert payments(runtime, merchant) == 0


class TestTransport:
    def test_garbage_bytes_answer_an_error_not_a_stack_trace(self, server, runtime, log_file):
        before = log_file.stat().st_size
        response = httpx.post(server + "/n/card/request", content=bytes(range(256)) * 4)
        assert response.status_code == 200
        reply = parse_reply(response.content)
        assert reply.result == "1"
        with log_file.open("rb") as log:
            log.seek(before)
            assert b"Traceback" not in log.read()  # what this request logged
        assert "telegram kind=" in log_file.read_text(encoding="utf-8")

    def test_one_megabyte_body_answers_p009_without_storing(self, server, merchant, runtime):
        body = form_body(auth_fields(merchant)) + b"&pad=" + b"x" * 1_000_000
        response = httpx.post(server + "/n/card/request", content=body, timeout=30)
        assert response.status_code == 200
        assert parse_reply(response.content).code == "P009"
        assert payments(runtime, merchant) == 0

    def test_parameters_in_query_string_with_empty_body(self, server, merchant, runtime):
        """The Ruby gems POST everything in the URL with an empty body."""
        query = form_body(auth_fields(merchant)).decode()
        response = httpx.post(f"{server}/n/card/request?{query}", content=b"")
        assert parse_reply(response.content).result == "0"
        assert payments(runtime, merchant) == 1

    def test_utf8_body_with_declared_charset(self, server, merchant):
        body = form_body(auth_fields(merchant), encoding="utf-8")
        response = httpx.post(
            server + "/n/card/request",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        assert parse_reply(response.content).result == "0"

    def test_http_1_0_without_host_and_trailing_crlfs(self, server, merchant):
        """An old Java module writes HTTP/1.0 by hand, no Host, two CRLFs after the body."""
        body = form_body(auth_fields(merchant))
        request = (
            b"POST /n/card/request HTTP/1.0\r\nContent-Type: application/"
            b"x-www-form-urlencoded\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
            + b"\r\n\r\n"
        )
        url = urlsplit(server)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(request)
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        head, _, payload = raw.partition(b"\r\n\r\n")
        assert head.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))
        assert b"transfer-encoding: chunked" not in head.lower()
        assert parse_reply(payload).result == "0"

    def test_response_is_windows_31j_text_html(self, server, merchant):
        response = httpx.post(
            server + "/n/card/request",
            content=form_body(auth_fields(merchant, connect_password="wrong")),
        )
        assert response.headers["content-type"] == "text/html; charset=Windows-31J"
        assert "認証".encode("cp932") in response.content


class TestCredentialCache:
    def test_rotated_password_works_at_once_and_the_old_one_stops(self, server, merchant, runtime):
        from dataclasses import replace

        from kessai.core.merchants.auth import Authenticator
        from kessai.core.merchants.commands import rotate_password

        assert post(server, auth_fields(merchant)).result == "0"  # cached now
        with runtime.core.sessions.begin() as session:
            new_password = rotate_password(
                session,
                merchant.merchant_id,
                secret=runtime.core.secret,
                now=runtime.core.clock.now(),
            )
        rotated = replace(merchant, connect_password=new_password)
        assert post(server, auth_fields(rotated, trading_id="E2")).result == "0"
        fresh = Authenticator(runtime.core.sessions, runtime.core.secret, ttl=0)
        with pytest.raises(AuthError):
            fresh.authenticate(
                str(merchant.merchant_id), merchant.connect_id, merchant.connect_password
            )


def test_an_unknown_3ds_auth_id_answers_31008_and_creates_nothing(server, merchant, runtime):
    reply = post(server, auth_fields(merchant, **{"3dsecure_use_type": "2", "3ds_auth_id": "x"}))
    assert reply.code == "31008"
    assert payments(runtime, merchant) == 0
