"""The console's search over every method on one screen, and the detail page of a payment."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from kessai.core.console.permissions import Permission, Role
from kessai.core.payments import queries
from kessai.core.payments.cvs import commands as cvs
from kessai.kit.clock import JST
from tests.support.console import (
    card_payment,
    cvs_payment,
    listed_ids,
    make_user,
    merchant_ref,
    signed_in,
)


@pytest.fixture
def staff(runtime, server, merchant):
    user = make_user(
        runtime,
        merchant.merchant_id,
        f"s{uuid.uuid4().hex[:10]}",
        permissions=frozenset(Permission),
    )
    return signed_in(server, user)


@pytest.fixture
def shop(runtime, merchant, clock):
    """Payments over three days: card (authorised, captured), CVS (unpaid, paid)."""
    m = merchant.merchant_id
    ids = {}
    ids["card_old"] = card_payment(runtime, m, "ORDER-001", 1500)
    clock.advance(timedelta(days=1))
    ids["card_captured"] = card_payment(runtime, m, "ORDER-002", 3000, capture=True)
    ids["cvs_lawson"] = cvs_payment(runtime, m, "ORDER-003", 2500, chain="00C002")
    clock.advance(timedelta(days=1))
    ids["cvs_paid"] = cvs_payment(runtime, m, "ORDX-004", 9800, chain="00C016")
    cvs.pay(runtime.core, merchant_ref(runtime, m), ids["cvs_paid"])
    ids["card_big"] = card_payment(runtime, m, "ORDER-005", 120000)
    return ids


def day(clock, offset_days: int) -> str:
    return (clock.now() + timedelta(days=offset_days)).astimezone(JST).date().isoformat()


def search(client, **params):
    params.setdefault("created_from", "")
    response = client.get("/console/payments", **params)
    assert response.status_code == 200, response.text[:400]
    return response


def test_every_method_on_one_screen_newest_first_with_the_seed_columns(shop, staff):
    page = search(staff)

    assert listed_ids(page.text) == sorted(shop.values(), reverse=True)
    for column in (
        "取引ID",
        "決済ID",
        "決済種別",
        "支払機関名",
        "決済ステータス",
        "取引日時",
        "支払期限日",
        "消込日時",
        "決済金額",
    ):
        assert f">{column}" in page.text
    assert "5件中 1〜5件を表示" in page.text
    assert "ローソン" in page.text and "セイコーマート" in page.text
    assert "120,000円" in page.text


def test_trading_id_exact_and_prefix(shop, staff):
    assert listed_ids(search(staff, trading_id="ORDER-00").text) == []
    assert listed_ids(search(staff, trading_id="ORDER-002").text) == [shop["card_captured"]]
    prefix = search(staff, trading_id="ORDER-", trading_match="prefix")
    assert sorted(listed_ids(prefix.text)) == sorted(
        shop[k] for k in ("card_old", "card_captured", "cvs_lawson", "card_big")
    )


def test_prefix_search_takes_like_wildcards_literally(runtime, staff, merchant):
    underscore = card_payment(runtime, merchant.merchant_id, "A_1")
    card_payment(runtime, merchant.merchant_id, "AB1")
    assert listed_ids(search(staff, trading_id="A_", trading_match="prefix").text) == [underscore]


def test_payment_id_status_multi_select_and_method_checkboxes(shop, staff):
    assert listed_ids(search(staff, payment_id=shop["cvs_lawson"]).text) == [shop["cvs_lawson"]]
    authorised_or_unpaid = search(staff, status=["20", "10"])
    assert sorted(listed_ids(authorised_or_unpaid.text)) == sorted(
        [shop["card_old"], shop["cvs_lawson"], shop["card_big"]]
    )
    cvs_only = search(staff, method="03")
    assert sorted(listed_ids(cvs_only.text)) == sorted([shop["cvs_lawson"], shop["cvs_paid"]])
    paid_cvs = search(staff, method="03", status="40")
    assert listed_ids(paid_cvs.text) == [shop["cvs_paid"]]


def test_institution_by_chain_name_or_acquirer_name(shop, staff, runtime):
    from kessai.core.payments.models import Payment

    assert listed_ids(search(staff, institution="ローソン").text) == [shop["cvs_lawson"]]
    with runtime.core.sessions() as session:
        acquirer = session.get(Payment, shop["card_old"]).institution_name
    assert acquirer
    assert shop["card_old"] in listed_ids(search(staff, institution=acquirer).text)


def test_date_ranges_of_trading_deadline_and_payment(shop, staff, clock):
    today, yesterday, two_days_ago = day(clock, 0), day(clock, -1), day(clock, -2)
    assert listed_ids(search(staff, created_from=two_days_ago, created_to=two_days_ago).text) == [
        shop["card_old"]
    ]
    assert sorted(listed_ids(search(staff, created_from=yesterday).text)) == sorted(
        [shop["card_captured"], shop["cvs_lawson"], shop["cvs_paid"], shop["card_big"]]
    )
    paid_today = search(staff, paid_from=today, paid_to=today)
    assert listed_ids(paid_today.text) == [shop["cvs_paid"]]
    due = day(clock, 29)  # the Lawson number was issued yesterday for 30 days
    assert listed_ids(search(staff, due_from=due, due_to=due).text) == [shop["cvs_lawson"]]


def test_amount_range(shop, staff):
    assert sorted(listed_ids(search(staff, amount_min="2500", amount_max="9800").text)) == sorted(
        [shop["card_captured"], shop["cvs_lawson"], shop["cvs_paid"]]
    )
    assert listed_ids(search(staff, amount_min="100,000").text) == [shop["card_big"]]


def test_sortable_columns_both_ways(shop, staff):
    by_amount = listed_ids(search(staff, sort="amount", order="asc").text)
    assert by_amount == [
        shop[k] for k in ("card_old", "cvs_lawson", "card_captured", "cvs_paid", "card_big")
    ]
    by_trading_desc = listed_ids(search(staff, sort="trading_id", order="desc").text)
    assert by_trading_desc[0] == shop["cvs_paid"]  # ORDX-004 sorts last in ascending order


def test_paged_with_the_count_of_all_matches(shop, staff, runtime, merchant):
    for n in range(21):
        card_payment(runtime, merchant.merchant_id, f"PAGE{n:02d}")
    first = search(staff, trading_id="PAGE", trading_match="prefix", per_page="20")
    second = search(staff, trading_id="PAGE", trading_match="prefix", per_page="20", page="2")

    assert "21件中 1〜20件を表示" in first.text and "21件中 21〜21件を表示" in second.text
    assert len(listed_ids(first.text)) == 20 and len(listed_ids(second.text)) == 1
    assert 'rel="next"' in first.text and 'rel="prev"' in second.text


def test_bad_input_is_explained_not_searched(staff):
    response = staff.get("/console/payments", created_from="2026-13-40")
    assert response.status_code == 400 and "取引日時" in response.text
    response = staff.get("/console/payments", amount_min="十円")
    assert response.status_code == 400 and "決済金額（下限）" in response.text


def test_first_visit_shows_the_last_thirty_days(staff, clock):
    response = staff.get("/console/payments")
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/payments?created_from={day(clock, -30)}"


def test_detail_shows_every_field_the_masked_card_history_and_notices(runtime, staff, merchant):
    payment_id = card_payment(
        runtime, merchant.merchant_id, "DETAIL-1", 4321, card="4111111111111111"
    )
    staff.post(
        "/console/payments/bulk",
        [("action", "capture"), ("payment_id", payment_id), ("key", uuid.uuid4().hex)],
    )

    page = staff.get(f"/console/payments/{payment_id}")

    assert page.status_code == 200
    assert 'id="card">411111******1111' in page.text
    assert "4111111111111111" not in page.text
    assert "DETAIL-1" in page.text and "4,321円" in page.text
    for label in (
        "取引日時",
        "オーソリ日時",
        "消込日時",
        "カードブランド",
        "有効期限",
        "authrized_number",
    ):
        assert label in page.text
    history = page.text.split('id="events"')[1].split("</table>")[0]
    assert "申込済" in history and "オーソリOK" in history and "消込済" in history
    notices = page.text.split('id="notices"')[1]
    assert notices.count('id="resend-') == 2  # オーソリOK and 消込済 were notified


def test_notice_resend_from_the_detail_page_queues_it_again(runtime, server, merchant):
    from kessai.core.notifications.queries import list_notices

    user = make_user(runtime, merchant.merchant_id, f"n{uuid.uuid4().hex[:8]}", role=Role.ADMIN)
    client = signed_in(server, user)
    payment_id = card_payment(runtime, merchant.merchant_id, "RESEND-1")
    with runtime.core.sessions() as session:
        first = list_notices(session, merchant.merchant_id, payment_id=payment_id)[0]

    response = client.post(
        f"/console/payments/{payment_id}/notices/{first.payment_notice_id}/resend"
    )

    assert response.status_code == 303
    page = client.follow(response)
    assert f"通知 {first.payment_notice_id} を再送キューに入れました" in page.text
    with runtime.core.sessions() as session:
        again = list_notices(session, merchant.merchant_id, payment_id=payment_id)[0]
    assert (again.delivery_status, again.attempts) == ("pending", 0)


def test_the_method_filter_offers_every_method_kessai_has(staff):
    from kessai.core.merchants.commands import KNOWN_METHODS

    page = search(staff).text
    offered = re.findall(r'name="method" value="(\d\d)"', page)
    assert offered == list(KNOWN_METHODS)


@pytest.mark.parametrize(
    ("sort", "descending"), [("created_at", True), ("amount", False), ("due_at", True)]
)
def test_a_page_is_the_same_whether_cut_from_few_matches_or_by_the_sort_index(
    shop, runtime, merchant, monkeypatch, sort, descending
):
    """Few matches are paged from the matches themselves (queries._cut_from_matches), many by the
    sort column's index: both give the same rows in the same order, ties broken by 決済ID."""
    for n in range(7):  # equal amounts and deadlines: the tie-break decides their order
        cvs_payment(runtime, merchant.merchant_id, f"TIE{n}", 2500, chain="00C002")
    criteria = queries.PaymentSearch(sort=sort, descending=descending)

    def pages() -> list[tuple[int, list[int]]]:
        with runtime.core.sessions() as session:
            found = [
                queries.search(session, merchant.merchant_id, criteria, offset=o, limit=4)
                for o in (0, 4, 8)
            ]
        return [(p.total, [row.payment_id for row in p.rows]) for p in found]

    few = pages()
    monkeypatch.setattr(queries, "FEW_MATCHES", 0)
    assert pages() == few
    assert [t for t, _ in few] == [12, 12, 12] and sum(len(ids) for _, ids in few) == 12
