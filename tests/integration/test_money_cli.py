"""The money commands as operators script them: `kessai settle close --json` (its fixed contract),
`kessai settle csv`, and `kessai ledger check`, which exits 1 when a row is corrupted in SQL."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from kessai.app import build_runtime
from kessai.config import Settings
from kessai.core.context import MerchantRef
from kessai.kit.clock import JST
from tests.integration.test_cli import kessai
from tests.support import money

CONTRACT = {
    "statement_id",
    "merchant_id",
    "period_from",
    "period_through",
    "payout_date",
    "lines",
    "fees_total",
    "tax",
    "adjustments",
    "carried_in",
    "payout_amount",
    "carried_forward",
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A home with a sandbox merchant, 3.25 % + 10 yen card fees, and two card sales (made once:
    each test works on a copy)."""
    tmp_path = tmp_path_factory.mktemp("money-home")
    kessai(tmp_path, "migrate")
    mid = json.loads(kessai(tmp_path, "merchant", "create", "--json").stdout)["merchant_id"]
    kessai(tmp_path, "fees", "set", str(mid), "--method", "02", "--rate", "3.25", "--fixed", "10",
           "--from", "2020-01-01")  # fmt: skip
    runtime = build_runtime(Settings(home=tmp_path))
    try:
        merchant = MerchantRef(id=mid, mode="sandbox")
        money.card_payment(runtime, merchant, 10_000, capture=True)
        money.card_payment(runtime, merchant, 5_000, capture=True)
    finally:
        runtime.engine.dispose()
    return tmp_path, mid


@pytest.fixture
def shop(prepared: tuple[Path, int], tmp_path: Path) -> tuple[Path, int]:
    home, mid = prepared
    shutil.copytree(home / "var", tmp_path / "var")
    return tmp_path, mid


def _sql(home: Path, *statements: str) -> None:
    engine = create_engine(f"sqlite:///{home / 'var' / 'kessai.db'}")
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def test_close_prints_the_statement_and_its_csv_adds_up(shop):
    home, mid = shop
    kessai(home, "ledger", "check")
    today = datetime.now(JST).date().isoformat()
    future = kessai(home, "settle", "close", str(mid), "--through", "2099-12-31", check=False)
    assert future.returncode == 1 and "after today" in future.stderr
    closed = kessai(home, "settle", "close", str(mid), "--through", today, "--json")
    shown = json.loads(closed.stdout)
    assert set(shown) == CONTRACT
    assert shown["merchant_id"] == mid and shown["period_through"] == today
    assert shown["lines"] == [
        {"payment_type": "02", "count": 2, "gross": 15000, "refunds": 0, "fees": 335 + 172}
    ]
    assert shown["tax"] == 50 and shown["payout_amount"] == 15000 - 507 - 50
    listed = json.loads(kessai(home, "settle", "list", str(mid), "--json").stdout)
    assert listed == [shown]
    body = kessai(home, "settle", "csv", str(shown["statement_id"]), "--encoding", "utf-8").stdout
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert sum(int(r["売上金額"]) for r in rows) == 15000
    assert sum(int(r["手数料"]) for r in rows) == shown["fees_total"]
    assert sum(int(r["消費税"]) for r in rows) == shown["tax"]
    again = kessai(home, "settle", "close", str(mid), "--through", today, check=False)
    assert again.returncode == 1 and f"closed through {today}" in again.stderr
    assert json.loads(kessai(home, "ledger", "check", "--json").stdout)["ok"] is True


@pytest.mark.parametrize(
    ("corruption", "invariant"),
    [
        ("UPDATE ledger_entries SET amount = amount + 1 WHERE kind = 'sale'", "payments"),
        (
            "UPDATE ledger_entries SET credit = replace(credit, ':payable', ':fees') "
            "WHERE id = (SELECT min(id) FROM ledger_entries)",
            "payable",
        ),
        (
            "UPDATE ledger_entries SET debit = 'merchant:1:receivable:02:X' "
            "WHERE id = (SELECT min(id) FROM ledger_entries)",
            "balanced",
        ),
    ],
)
def test_ledger_check_exits_1_on_a_row_corrupted_in_sql(shop, corruption, invariant):
    home, _ = shop
    _sql(home, "DROP TRIGGER ledger_entries_no_update", corruption)
    result = kessai(home, "ledger", "check", "--json", check=False)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert invariant in {f["invariant"] for f in report["failures"]}
