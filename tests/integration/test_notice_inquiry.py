"""091 difference inquiry (決済情報差分照会) through the real server, and the purge of old notices."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from kessai.app import Runtime
from kessai.core.context import MerchantRef
from kessai.core.merchants.commands import NewMerchant
from kessai.core.merchants.models import Merchant
from kessai.core.notifications.inquiry import next_notice, purge_old_notices
from kessai.core.notifications.models import Notice, NoticeReadCursor
from kessai.kit.errors import InProgress
from kessai.web.module.specs import NOTICE_FIELDS
from tests.conftest import make_merchant, test_db_kind
from tests.support.telegrams import Reply, authorised, send


def inquire(server: str, merchant: NewMerchant, **fields: str) -> Reply:
    return send(server, merchant, "091", **fields)


def paid_and_captured(server: str, merchant: NewMerchant) -> str:
    payment_id = authorised(server, merchant, "T1")
    assert send(server, merchant, "022", payment_id=payment_id).result == "0"
    return payment_id


def test_unnumbered_inquiry_reads_each_notice_once_then_says_no_more(server, merchant):
    payment_id = paid_and_captured(server, merchant)
    first, second, third = (inquire(server, merchant) for _ in range(3))
    assert (first.result, first["success_code"], first["payment_notice_id"]) == ("0", "0", "1")
    assert (first["payment_id"], first["payment_status"]) == (payment_id, "20")
    assert (second["success_code"], second["payment_notice_id"]) == ("0", "2")
    assert second["payment_status"] == "40"
    assert (third.result, third["success_code"], third["payment_notice_id"]) == ("0", "1", "")
    assert third["success_detail"]


def test_reply_carries_every_documented_notice_field(server, merchant):
    authorised(server, merchant, "T1")
    reply = inquire(server, merchant)
    assert set(NOTICE_FIELDS) <= set(reply.fields)
    assert reply["fc_auth_nmu"] == "" and reply["trading_id"] == "T1"


def test_numbered_inquiry_rereads_without_moving_the_cursor(server, merchant):
    paid_and_captured(server, merchant)
    assert inquire(server, merchant)["payment_notice_id"] == "1"
    again = inquire(server, merchant, payment_notice_id="1")
    assert (again["success_code"], again["payment_notice_id"]) == ("0", "1")
    assert inquire(server, merchant)["payment_notice_id"] == "2"
    missing = inquire(server, merchant, payment_notice_id="99")
    assert (missing.result, missing["success_code"]) == ("0", "1")


def test_site_id_selects_that_sites_notices_only(server, merchant):
    authorised(server, merchant, "T1", site_id="S001")
    authorised(server, merchant, "T2")
    no_site = inquire(server, merchant)
    assert (no_site["payment_notice_id"], no_site["trading_id"]) == ("2", "T2")
    assert inquire(server, merchant)["success_code"] == "1"
    site = inquire(server, merchant, site_id="S001")
    assert (site["success_code"], site["payment_notice_id"], site["site_id"]) == ("0", "1", "S001")
    assert inquire(server, merchant, payment_notice_id="1")["success_code"] == "1"  # not site ''


def test_next_notice_after_a_purged_one_answers_success_code_2(server, merchant, runtime):
    paid_and_captured(server, merchant)
    _age_notice(runtime, merchant, 1, days=8)
    assert purge_old_notices(runtime.core, keep_days=7) >= 1
    reply = inquire(server, merchant)
    assert (reply["success_code"], reply["payment_notice_id"]) == ("2", "2")
    purged = inquire(server, merchant, payment_notice_id="1")
    assert purged["success_code"] == "1"


def test_purge_keeps_recent_and_undelivered_notices(runtime, server, merchant):
    paid_and_captured(server, merchant)
    _age_notice(runtime, merchant, 1, days=8, status="pending")
    _age_notice(runtime, merchant, 2, days=6)
    purge_old_notices(runtime.core, keep_days=7)
    assert _numbers(runtime, merchant) == [1, 2]
    with pytest.raises(ValueError, match="at least 7 days"):
        purge_old_notices(runtime.core, keep_days=3)


def test_091_is_allowed_for_a_merchant_without_card_payments(server, runtime):
    merchant = make_merchant(runtime)
    with runtime.core.sessions.begin() as session:
        row = session.get(Merchant, merchant.merchant_id)
        assert row is not None
        row.enabled_methods = ""
    assert send(server, merchant, "094", payment_id="1").code == "P007"
    reply = inquire(server, merchant)
    assert (reply.result, reply["success_code"]) == ("0", "1")


def test_091_on_the_card_path_answers_p004(server, merchant):
    reply = send(server, merchant, "091", path="/n/card/request")
    assert (reply.result, reply.code) == ("1", "P004")


@pytest.mark.skipif(test_db_kind() != "postgresql", reason="NOWAIT row locks are PostgreSQL's")
def test_a_read_while_the_cursor_is_locked_answers_9004(server, merchant, runtime):
    authorised(server, merchant, "T1")
    inquire(server, merchant)  # creates the cursor row
    with runtime.core.sessions.begin() as session:
        session.scalars(
            select(NoticeReadCursor)
            .where(NoticeReadCursor.merchant_id == merchant.merchant_id)
            .with_for_update()
        ).one()
        with pytest.raises(InProgress) as caught:
            next_notice(
                runtime.core,
                MerchantRef(merchant.merchant_id, "sandbox"),
                site_id="",
                payment_notice_id=None,
            )
        assert caught.value.code == "9004"
        blocked = inquire(server, merchant)
        assert (blocked.result, blocked.code) == ("1", "9004")


def test_concurrent_reads_never_hand_one_notice_to_two_callers(server, merchant):
    for n in range(4):
        authorised(server, merchant, f"T{n}")
    seen: list[str] = []
    for _ in range(6):
        replies = _two_at_once(server, merchant)
        assert sum(reply.code == "9004" for reply in replies) <= 1
        assert all(reply.result == "0" or reply.code == "9004" for reply in replies)
        seen += [r["payment_notice_id"] for r in replies if r.result == "0" and r["payment_id"]]
    assert sorted(seen, key=int) == ["1", "2", "3", "4"]


def _two_at_once(server: str, merchant: NewMerchant) -> list[Reply]:
    barrier = threading.Barrier(2)
    replies: list[Reply] = []

    def call() -> None:
        barrier.wait()
        replies.append(inquire(server, merchant))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def _age_notice(
    runtime: Runtime, merchant: NewMerchant, number: int, *, days: int, status: str = "delivered"
) -> None:
    with runtime.core.sessions.begin() as session:
        session.execute(
            update(Notice)
            .where(Notice.merchant_id == merchant.merchant_id, Notice.payment_notice_id == number)
            .values(
                created_at=runtime.core.clock.now() - timedelta(days=days),
                delivery_status=status,
            )
        )


def _numbers(runtime: Runtime, merchant: NewMerchant) -> list[int]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(Notice.payment_notice_id)
                .where(Notice.merchant_id == merchant.merchant_id)
                .order_by(Notice.payment_notice_id)
            )
        )
