"""`kessai reconcile MERCHANT_ID FILE [--from] [--to] --json` as scripts call it: the fixed JSON
contract, the readable summary, and a bad file exiting 1 with its line and storing nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from kessai.app import Runtime
from kessai.core.merchants.commands import NewMerchant
from kessai.core.reconcile.models import Reconciliation
from tests.support.reconcile import EXPECTED, every_class

CLASSES = {
    "matched",
    "amount_differs",
    "unpaid",
    "cancelled",
    "paid_twice",
    "unmatched_payments",
    "duplicate_orders",
}


def _kessai(runtime: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KESSAI_HOME": str(runtime.settings.home),
        "KESSAI_DATABASE_URL": runtime.settings.resolved_database_url(),
        "KESSAI_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-m", "kessai", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _stored(runtime: Runtime, merchant_id: int) -> int:
    with runtime.core.sessions() as session:
        found = session.scalar(
            select(func.count()).where(Reconciliation.merchant_id == merchant_id)
        )
        return int(found or 0)


def test_json_prints_the_class_counts_and_every_row(
    runtime: Runtime, merchant: NewMerchant, tmp_path: Path
):
    orders = tmp_path / "orders.csv"
    orders.write_bytes(every_class(runtime, merchant.merchant_id).orders.encode("cp932"))
    done = _kessai(runtime, "reconcile", str(merchant.merchant_id), str(orders), "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert set(shown) == CLASSES | {"rows"}
    assert shown["unpaid"] == 2 and shown["duplicate_orders"] == 1 and shown["matched"] == 1
    assert all(
        set(row) == {"trading_id", "class", "order_amount", "paid_amount"} for row in shown["rows"]
    )
    first = {r["trading_id"]: r for r in reversed(shown["rows"])}
    assert {tid: r["class"] for tid, r in first.items()} == EXPECTED
    assert first["N-1"] == {
        "trading_id": "N-1",
        "class": "unmatched_payments",
        "order_amount": None,
        "paid_amount": 700,
    }
    assert first["U-CVS"]["paid_amount"] is None and first["D-1"]["paid_amount"] == 900
    assert shown["rows"][-2] == {
        "trading_id": "M-1",
        "class": "duplicate_orders",
        "order_amount": 1200,
        "paid_amount": None,
    }
    assert _stored(runtime, merchant.merchant_id) == 1


def test_without_json_a_readable_summary_and_the_period_limits_payments(
    runtime: Runtime, merchant: NewMerchant, tmp_path: Path
):
    orders = tmp_path / "orders.csv"
    orders.write_bytes(every_class(runtime, merchant.merchant_id).orders.encode("utf-8"))
    args = ("reconcile", str(merchant.merchant_id), str(orders), "--to", "2020-01-01")
    done = _kessai(runtime, *args)
    assert done.returncode == 0, done.stderr
    assert "8 order lines" in done.stdout and "0 payments of … – 2020-01-01" in done.stdout
    assert "未入金（売掛金）\t7 rows" in done.stdout


def test_a_bad_file_exits_1_with_the_line_and_stores_nothing(
    runtime: Runtime, merchant: NewMerchant, tmp_path: Path
):
    orders = tmp_path / "orders.csv"
    orders.write_bytes("取引ID,金額\nA,100\nB,百円\n".encode("cp932"))
    done = _kessai(runtime, "reconcile", str(merchant.merchant_id), str(orders), "--json")
    assert done.returncode == 1 and done.stdout == ""
    assert "3行目「金額」" in done.stderr
    assert _stored(runtime, merchant.merchant_id) == 0
