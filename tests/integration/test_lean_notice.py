"""The lean path (PostgreSQL) writes a status change and its notice together or not at all: a
merchant whose notice counter row is missing gets no authorisation settled without its notice, as
on the ORM path (`record_change` fails on the missing row)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from kessai.core.notifications.models import Notice, NoticeCounter
from kessai.core.payments.models import Payment
from tests.support.telegrams import authorise


@pytest.fixture(autouse=True)
def _postgresql_only(runtime):
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("the lean statements run on PostgreSQL only")


def test_no_payment_is_settled_without_its_notice(server, merchant, runtime):
    with runtime.core.sessions.begin() as session:
        session.execute(
            delete(NoticeCounter).where(NoticeCounter.merchant_id == merchant.merchant_id)
        )
    reply = authorise(server, merchant, "NC1")
    with runtime.core.sessions() as session:
        statuses = list(
            session.scalars(
                select(Payment.status).where(Payment.merchant_id == merchant.merchant_id)
            )
        )
        notices = session.scalar(
            select(func.count(Notice.id)).where(Notice.merchant_id == merchant.merchant_id)
        )
    assert reply.result == "1", reply.fields  # the change failed, and said so
    assert (statuses, notices) == (["10"], 0)  # applied (申込済), awaiting the reconciler
