"""The reconciliation's SQL question "does this payment hold money" gives the core's answer
(`tables.holds_money`) for every status of every method, captured or not."""

from __future__ import annotations

import sqlite3

import pytest

from kessai.core.payments import labels
from kessai.core.payments.tables import PAYMENT_TYPES, holds_money, statuses
from kessai.core.reconcile.run import paid_condition


def test_the_sql_holds_money_exactly_where_the_state_tables_do():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE payments (payment_type TEXT, status TEXT, captured_at TEXT)")
    combos = [
        (t, s, captured) for t in PAYMENT_TYPES for s in statuses(t) for captured in (True, False)
    ]
    db.executemany(
        "INSERT INTO payments VALUES (?, ?, ?)",
        [(t, s, "2026-12-05 00:00:00" if captured else None) for t, s, captured in combos],
    )
    found = db.execute(
        f"SELECT payment_type, status, captured_at IS NOT NULL FROM payments p WHERE {paid_condition('p')}"
    ).fetchall()
    expected = [
        (t, s, captured) for t, s, captured in combos if holds_money(t, s, captured=captured)
    ]
    assert sorted((t, s, bool(c)) for t, s, c in found) == sorted(expected)
    assert ("06", "42", True) in expected and ("06", "42", False) not in expected


@pytest.mark.parametrize("payment_type", PAYMENT_TYPES)
def test_statuses_are_every_status_the_method_names(payment_type: str):
    assert set(statuses(payment_type)) == set(labels._STATUS_BY_METHOD[payment_type])


def test_a_method_without_a_table_is_refused():
    with pytest.raises(ValueError, match="no state table"):
        statuses("11")
