"""Manual registration (手動登録): card payments typed by staff, CVS numbers issued for a buyer.
The card number never reaches a page, the audit log or a log line."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from kessai.core.console.models import AuditEntry
from kessai.core.console.permissions import Permission
from kessai.core.payments.models import Payment
from tests.support.console import make_user, signed_in

CARD = "4111111111111111"


@pytest.fixture
def clerk(runtime, server, merchant):
    user = make_user(
        runtime,
        merchant.merchant_id,
        f"r{uuid.uuid4().hex[:10]}",
        permissions=frozenset({Permission.VIEW, Permission.REGISTER}),
    )
    return signed_in(server, user)


def card_form(**changes):
    form = {
        "trading_id": "TEL-001",
        "amount": "3300",
        "card_number": "4111 1111 1111 1111",
        "valid_month": "12",
        "valid_year": "30",
        "security_code": "123",
        "capture": "1",
    }
    return form | changes


def test_a_card_payment_typed_by_staff_is_authorised_and_captured(
    runtime, clerk, merchant, log_file
):
    response = clerk.post("/console/register/card", card_form())

    assert response.status_code == 200 and "カード決済を登録しました" in response.text
    assert "411111******1111" in response.text and CARD not in response.text
    with runtime.core.sessions() as session:
        payment = session.scalar(
            select(Payment).where(
                Payment.merchant_id == merchant.merchant_id, Payment.trading_id == "TEL-001"
            )
        )
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.merchant_id == merchant.merchant_id)
        ).all()
    assert (payment.status, payment.amount) == ("40", 3300)
    assert all(CARD not in f"{e.target} {e.detail}" for e in audit)
    assert CARD not in log_file.read_text(encoding="utf-8")


def test_authorise_only_leaves_it_for_a_later_capture(runtime, clerk, merchant):
    clerk.post("/console/register/card", card_form(trading_id="TEL-002", capture="0"))
    with runtime.core.sessions() as session:
        status = session.scalar(
            select(Payment.status).where(
                Payment.merchant_id == merchant.merchant_id, Payment.trading_id == "TEL-002"
            )
        )
    assert status == "20"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"card_number": "41111111"}, "カード番号を確認してください"),
        ({"card_number": "4111-1111-1111-111x"}, "カード番号を確認してください"),
        ({"valid_month": "13"}, "有効期限"),
        ({"security_code": "12"}, "セキュリティコード"),
        ({"amount": "0"}, "決済金額を1円以上"),
        ({"trading_id": "x" * 26}, "取引ID"),
    ],
)
def test_bad_card_input_is_explained_and_nothing_is_registered(
    runtime, clerk, merchant, changes, message
):
    response = clerk.post("/console/register/card", card_form(trading_id="BAD") | changes)
    assert response.status_code == 400 and message in response.text
    with runtime.core.sessions() as session:
        assert (
            session.scalar(select(Payment.id).where(Payment.merchant_id == merchant.merchant_id))
            is None
        )


def test_a_declined_card_is_reported_as_declined(runtime, clerk, merchant):
    # The sandbox declines a number ending 80xx with 2002 (paygent-protocol.md §4).
    response = clerk.post(
        "/console/register/card", card_form(trading_id="TEL-NG", card_number="4111111111118009")
    )
    assert response.status_code == 200
    assert "承認されませんでした（2002）" in response.text


def test_a_production_merchant_gets_the_check_digit_checked(runtime, server):
    from tests.conftest import make_merchant

    shop = make_merchant(runtime, mode="production")
    client = signed_in(
        server,
        make_user(
            runtime, shop.merchant_id, f"p{uuid.uuid4().hex[:8]}", permissions=frozenset(Permission)
        ),
    )
    response = client.post("/console/register/card", card_form(card_number="4111111111111112"))
    assert response.status_code == 400 and "カード番号を確認してください" in response.text


def test_a_cvs_number_is_issued_for_the_buyer(runtime, clerk, merchant):
    response = clerk.post(
        "/console/register/cvs",
        {
            "trading_id": "CVS-TEL-1",
            "amount": "4800",
            "cvs_company_id": "00C002",
            "customer_family_name": "山田",
            "customer_name": "太郎",
            "customer_tel": "03-1234-5678",
            "limit_days": "7",
        },
    )

    assert response.status_code == 200 and "お支払い番号を発行しました" in response.text
    number = response.text.split('id="receipt-number">')[1].split("<")[0]
    assert number
    with runtime.core.sessions() as session:
        payment = session.scalar(
            select(Payment).where(
                Payment.merchant_id == merchant.merchant_id, Payment.trading_id == "CVS-TEL-1"
            )
        )
    assert (payment.payment_type, payment.status, payment.amount) == ("03", "10", 4800)
    assert payment.details["receipt_number"] == number
    path = "/cvs/receipt/" + response.text.split('<a href="/cvs/receipt/')[1].split('"')[0]
    receipt = clerk.http.get(path)
    assert receipt.status_code == 200 and number in receipt.text


def test_without_the_permission_nothing_can_be_registered(runtime, server, merchant):
    viewer = signed_in(server, make_user(runtime, merchant.merchant_id, f"v{uuid.uuid4().hex[:8]}"))
    assert viewer.post("/console/register/card", card_form()).status_code == 403
    assert "手動登録" not in viewer.get("/console/dashboard").text.split("<main>")[0]
