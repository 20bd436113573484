"""Card operations from the console, one by one or in bulk: a result per row, a failure on one row
never blocks the others, and re-submitting the same form never applies twice."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import select

from kessai.core.console.permissions import Role
from kessai.core.payments.models import Payment, PaymentOperation
from tests.support.console import card_payment, cvs_payment, make_user, signed_in


@pytest.fixture
def admin(runtime, server, merchant):
    return signed_in(
        server,
        make_user(runtime, merchant.merchant_id, f"a{uuid.uuid4().hex[:10]}", role=Role.ADMIN),
    )


def payment(runtime, payment_id: int) -> Payment:
    with runtime.core.sessions() as session:
        return session.get(Payment, payment_id)


def operations(runtime, payment_id: int) -> list[str]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(PaymentOperation.kind).where(PaymentOperation.payment_id == payment_id)
            )
        )


def act(client, payment_id: int, action: str, amount: int | None = None, key: str | None = None):
    form = [("action", action), ("key", key or uuid.uuid4().hex)]
    if amount is not None:
        form.append(("amount", amount))
    return client.post(f"/console/payments/{payment_id}/action", form)


def bulk(client, action: str, ids: list[int], key: str | None = None):
    form = [("action", action), ("key", key or uuid.uuid4().hex)] + [("payment_id", i) for i in ids]
    return client.post("/console/payments/bulk", form)


def test_capture_from_the_detail_page(runtime, admin, merchant):
    payment_id = card_payment(runtime, merchant.merchant_id, "OP-CAP")
    page = admin.get(f"/console/payments/{payment_id}")
    assert 'id="do-capture"' in page.text and 'id="do-refund"' not in page.text

    result = act(admin, payment_id, "capture")

    assert result.status_code == 200 and "成功 1件" in result.text
    assert payment(runtime, payment_id).status == "40"


def test_cancel_voids_before_capture_and_refunds_after(runtime, admin, merchant):
    authorised = card_payment(runtime, merchant.merchant_id, "OP-VOID")
    captured = card_payment(runtime, merchant.merchant_id, "OP-REF", capture=True)

    act(admin, authorised, "cancel")
    act(admin, captured, "cancel")

    assert payment(runtime, authorised).status == "32"  # オーソリ取消済
    assert payment(runtime, captured).status == "60"  # 売上取消済
    assert operations(runtime, authorised)[-1] == "void"
    assert operations(runtime, captured)[-1] == "refund"


def test_a_whole_refund_cancels_the_sale(runtime, admin, merchant):
    captured = card_payment(runtime, merchant.merchant_id, "OP-WHOLE", 5000, capture=True)
    result = act(admin, captured, "refund", 5000)
    assert "成功 1件" in result.text
    assert payment(runtime, captured).status == "60"


def test_a_part_refund_captures_the_rest_on_a_new_payment_and_cancels_the_old(
    runtime, admin, merchant
):
    captured = card_payment(runtime, merchant.merchant_id, "OP-PART", 5000, capture=True)

    result = act(admin, captured, "refund", 1200)

    assert "成功 1件" in result.text and "新しい決済ID" in result.text
    assert payment(runtime, captured).status == "60"
    with runtime.core.sessions() as session:
        new = session.scalar(select(Payment).where(Payment.related_payment_id == captured))
    assert (new.status, new.amount, new.trading_id) == ("40", 3800, "OP-PART")


def test_an_amount_change_reauthorises_the_new_amount(runtime, admin, merchant):
    authorised = card_payment(runtime, merchant.merchant_id, "OP-CHG", 8000)

    act(admin, authorised, "change_amount", 6500)

    assert payment(runtime, authorised).status == "32"
    with runtime.core.sessions() as session:
        new = session.scalar(select(Payment).where(Payment.related_payment_id == authorised))
    assert (new.status, new.amount) == ("20", 6500)


def test_an_amount_above_the_original_is_refused_with_the_protocol_message(
    runtime, admin, merchant
):
    authorised = card_payment(runtime, merchant.merchant_id, "OP-UP", 1000)
    result = act(admin, authorised, "change_amount", 2000)
    assert "失敗 1件" in result.text and "2013" in result.text
    assert payment(runtime, authorised).status == "20"


def test_bulk_capture_gives_a_result_per_row_and_one_failure_blocks_nothing(
    runtime, admin, merchant
):
    m = merchant.merchant_id
    first = card_payment(runtime, m, "BULK-1")
    voided = card_payment(runtime, m, "BULK-2")
    act(admin, voided, "cancel")
    cvs_id = cvs_payment(runtime, m, "BULK-3")
    last = card_payment(runtime, m, "BULK-4")

    result = bulk(admin, "capture", [first, voided, cvs_id, last])

    assert result.status_code == 200
    assert "成功 2件 ・ 失敗 2件" in result.text
    rows = result.text.split('id="bulk-results"')[1]
    assert rows.count('class="ok"') == 2 and rows.count('class="ng"') == 2
    assert "2004" in rows  # the voided card and the CVS payment cannot be captured
    assert payment(runtime, first).status == payment(runtime, last).status == "40"
    assert payment(runtime, voided).status == "32" and payment(runtime, cvs_id).status == "10"


def test_resubmitting_the_same_bulk_form_never_applies_twice(runtime, admin, merchant):
    captured = card_payment(runtime, merchant.merchant_id, "TWICE", 5000, capture=True)
    key = uuid.uuid4().hex

    first = act(admin, captured, "refund", 1000, key=key)
    again = act(admin, captured, "refund", 1000, key=key)

    assert "成功 1件" in first.text
    assert 'id="repeated"' in again.text and "成功 1件" in again.text
    with runtime.core.sessions() as session:
        made = session.scalars(select(Payment).where(Payment.related_payment_id == captured)).all()
    assert [p.amount for p in made] == [4000]


def test_two_concurrent_submissions_of_one_bulk_form_capture_once(runtime, admin, merchant):
    ids = [card_payment(runtime, merchant.merchant_id, f"RACE{n}") for n in range(3)]
    key = uuid.uuid4().hex
    answers: list[str] = []

    def submit() -> None:
        answers.append(bulk(admin, "capture", ids, key=key).text)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum('id="repeated"' in answer for answer in answers) == 1
    for payment_id in ids:
        assert operations(runtime, payment_id).count("capture") == 1
        assert payment(runtime, payment_id).status == "40"


def test_refund_and_amount_change_are_one_by_one_only(runtime, admin, merchant):
    captured = card_payment(runtime, merchant.merchant_id, "ONE", capture=True)
    response = bulk(admin, "refund", [captured])
    assert response.status_code == 400
    assert payment(runtime, captured).status == "40"
