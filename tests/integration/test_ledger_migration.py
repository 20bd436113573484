"""Migration 0012 on a database with payments already made: every payment holding money gets its
opening sale, so the ledger agrees with the payments from the start (on SQLite and PostgreSQL).
It runs on a database of its own: going back to 0010 drops the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kessai.app import Runtime, build_runtime
from kessai.config import Settings
from kessai.core.context import MerchantRef
from kessai.core.ledger.check import check
from kessai.db.migrate import downgrade, upgrade
from tests.conftest import TestClock, _fresh_postgres_database, make_merchant, test_db_kind
from tests.support import money


@pytest.fixture
def private_url(tmp_path: Path) -> Iterator[str]:
    if test_db_kind() == "postgresql":
        yield from _fresh_postgres_database()
        return
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    yield url


@pytest.fixture
def private(private_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(Settings(home=tmp_path, database_url=private_url), clock=TestClock())
    yield runtime
    runtime.engine.dispose()


def test_payments_made_before_the_ledger_get_their_sales(private: Runtime, private_url: str):
    shop = make_merchant(private)
    merchant = MerchantRef(id=shop.merchant_id, mode="sandbox")
    captured = money.card_payment(private, merchant, 1234, capture=True)
    money.card_payment(private, merchant, 99, capture=False)  # authorised only: no sale
    refunded = money.card_payment(private, merchant, 500, capture=True)
    money.card_refund(private, merchant, refunded)
    paid = money.cvs_paid(private, merchant, 2000)
    private.engine.dispose()
    downgrade(private_url, "0010")  # as before the ledger: its tables gone
    upgrade(private_url)
    assert money.sold(private, shop.merchant_id) == {captured: 1234, paid: 2000}
    assert {e.kind for e in money.entries(private, shop.merchant_id)} == {"sale"}
    with private.core.sessions() as session:
        report = check(session, merchant_id=shop.merchant_id)
    assert report.ok, report.failures
