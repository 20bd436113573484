"""Permissions are checked on the server for every console endpoint, by direct HTTP calls that no
page would make: a user lacking a permission gets 403 and nothing changes."""

from __future__ import annotations

import re
import uuid

import pytest

from kessai.core.console.permissions import Permission, Role
from kessai.web.console.pages import CARD_PROCESSING, PAGES
from tests.support.console import make_user, signed_in
from tests.support.telegrams import authorised

ALL = frozenset(Permission)


def concrete(path: str, payment_id: str, user_id: int) -> str:
    path = path.replace("{payment_id:int}", payment_id).replace("{user_id:int}", str(user_id))
    path = path.replace("{statement_id:int}", "1").replace("{reconciliation_id:int}", "1")
    path = path.replace("{job_id}", "0" * 32)
    path = path.replace("{statement_id:int}", "1").replace("{card_id:int}", "1")
    path = path.replace("{receipt_id}", "123456789")
    return "/console" + re.sub(r"\{notice_id:int\}", "1", path)


def call(client, page, payment_id: str, user_id: int):
    url = concrete(page.path, payment_id, user_id)
    if "POST" in page.methods:
        return client.post(
            url,
            [
                ("action", "capture"),
                ("payment_id", payment_id),
                ("key", uuid.uuid4().hex),
                ("amount", "100"),
            ],
        )
    return client.get(url)


def test_the_card_processing_pages_are_the_operations_stored_cards_and_file_payments():
    assert {page.path for page in CARD_PROCESSING} == {
        "/payments/bulk",
        "/payments/{payment_id:int}/action",
        "/cards",
        "/cards/refresh",
        "/cards/{card_id:int}",
        "/files",
        "/files/{receipt_id}",
        "/files/{receipt_id}/progress.json",
        "/files/{receipt_id}/cancel",
        "/files/{receipt_id}/result.csv",
    }


@pytest.mark.parametrize("action", ["capture", "cancel", "refund", "change_amount"])
def test_without_card_processing_every_processing_endpoint_answers_403_and_changes_nothing(
    runtime, server, merchant, action
):
    clerk = make_user(
        runtime,
        merchant.merchant_id,
        f"nocard{uuid.uuid4().hex[:8]}",
        permissions=ALL - {Permission.CARD},
    )
    client = signed_in(server, clerk)
    payment_id = authorised(server, merchant, f"NC{action}")
    form = [
        ("action", action),
        ("payment_id", payment_id),
        ("key", uuid.uuid4().hex),
        ("amount", "500"),
    ]

    bulk = client.post("/console/payments/bulk", form)
    single = client.post(f"/console/payments/{payment_id}/action", form)

    assert (bulk.status_code, single.status_code) == (403, 403)
    page = client.get(f"/console/payments/{payment_id}")
    assert 'id="status">オーソリOK' in page.text and 'id="amount">1,000円' in page.text
    assert 'id="operations"' not in page.text  # and the page offers none


@pytest.mark.parametrize(
    "page",
    [page for page in PAGES if page.permission is not None],
    ids=lambda page: f"{'+'.join(page.methods)} {page.path}",
)
def test_every_page_refuses_a_user_without_its_permission(runtime, server, merchant, page):
    lacking = make_user(
        runtime,
        merchant.merchant_id,
        f"lack{uuid.uuid4().hex[:8]}",
        permissions=ALL - {page.permission},
    )
    other = make_user(runtime, merchant.merchant_id, f"other{uuid.uuid4().hex[:8]}")
    client = signed_in(server, lacking)
    payment_id = authorised(server, merchant, "PERM1")

    response = call(client, page, payment_id, other.user_id)

    assert response.status_code == 403, response.text[:300]


def test_staff_of_one_merchant_never_see_another_merchants_payments(runtime, server, merchant):
    from tests.conftest import make_merchant

    stranger = make_merchant(runtime)
    theirs = authorised(server, stranger, "THEIRS")
    admin = make_user(runtime, merchant.merchant_id, f"adm{uuid.uuid4().hex[:8]}", role=Role.ADMIN)
    client = signed_in(server, admin)

    assert client.get(f"/console/payments/{theirs}").status_code == 404
    listed = client.get("/console/payments", trading_id="THEIRS", created_from="")
    assert "0件中" in listed.text
    captured = client.post(
        "/console/payments/bulk",
        [("action", "capture"), ("payment_id", theirs), ("key", uuid.uuid4().hex)],
    )
    assert "失敗 1件" in captured.text
    assert "指定された決済が存在しません" in captured.text


def test_a_general_user_cannot_grant_what_they_lack_nor_touch_admins(runtime, server, merchant):
    admin = make_user(runtime, merchant.merchant_id, f"adm{uuid.uuid4().hex[:8]}", role=Role.ADMIN)
    manager = make_user(
        runtime,
        merchant.merchant_id,
        f"mgr{uuid.uuid4().hex[:8]}",
        permissions=frozenset({Permission.VIEW, Permission.USERS}),
    )
    client = signed_in(server, manager)

    grant = client.post(
        "/console/users",
        {"login": f"new{uuid.uuid4().hex[:6]}", "role": "general", "permission": "card"},
    )
    make_admin = client.post(
        "/console/users", {"login": f"new{uuid.uuid4().hex[:6]}", "role": "admin"}
    )
    touch_admin = client.post(f"/console/users/{admin.user_id}/certificate/revoke")
    self_promote = client.post(
        f"/console/users/{manager.user_id}",
        {"role": "general", "permission": ["view", "users"], "disabled": "1"},
    )

    assert grant.status_code == make_admin.status_code == touch_admin.status_code == 403
    assert self_promote.status_code == 403
