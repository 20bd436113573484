"""The operator's commands for institutions' reports, as scripts run them: the sandbox writes a
day's report with planted breaks, `kessai settle import --json` books it (once, however often it
runs), `kessai settle breaks --json` lists what stays open and `kessai settle resolve` closes one."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from kessai.app import build_runtime
from kessai.config import Settings
from kessai.core.context import MerchantRef
from kessai.kit.clock import JST
from tests.integration.test_cli import kessai
from tests.support import money

IMPORT_KEYS = {
    "report_id", "institution", "report_date", "sha256", "already_imported", "lines", "matched",
    "booked", "breaks",
}  # fmt: skip
BREAK_KEYS = {
    "break_id", "kind", "institution", "report_id", "line_number", "merchant_id", "payment_id",
    "expected", "paid", "detail", "opened_at", "resolved_at", "resolved_by", "resolution",
}  # fmt: skip


def _shop(home: Path) -> tuple[int, list[int]]:
    kessai(home, "migrate")
    mid = json.loads(kessai(home, "merchant", "create", "--json").stdout)["merchant_id"]
    runtime = build_runtime(Settings(home=home))
    try:
        merchant = MerchantRef(id=mid, mode="sandbox")
        ids = [
            money.card_payment(runtime, merchant, a, capture=True) for a in (5_000, 6_000, 7_000)
        ]
    finally:
        runtime.engine.dispose()
    return mid, ids


@pytest.mark.slow
def test_a_planted_report_imports_once_and_its_breaks_are_resolved_one_by_one(tmp_path):
    mid, ids = _shop(tmp_path)
    today = datetime.now(JST).date().isoformat()
    out = tmp_path / "acquirer.txt"
    written = kessai(tmp_path, "sandbox", "settlement-report", "--institution", "acquirer",
                     "--date", today, "--out", str(out), "--plant", "missing", "--plant", "amount",
                     "--plant", "unknown")  # fmt: skip
    assert json.loads(written.stdout)["lines"] == 3  # 3 sales − 1 left out + 1 unknown
    again = kessai(tmp_path, "sandbox", "settlement-report", "--institution", "acquirer",
                   "--date", today, "--out", str(out), check=False)  # fmt: skip
    assert again.returncode != 0 and "never overwritten" in again.stderr

    first = json.loads(
        kessai(tmp_path, "settle", "import", str(out), "--institution", "acquirer", "--json").stdout
    )
    assert set(first) == IMPORT_KEYS and not first["already_imported"]
    assert all(set(b) == BREAK_KEYS for b in first["breaks"])
    assert sorted(b["kind"] for b in first["breaks"]) == ["amount", "missing", "unknown"]
    assert first["booked"] == 5_900 + 7_000
    second = json.loads(
        kessai(tmp_path, "settle", "import", str(out), "--institution", "acquirer", "--json").stdout
    )
    assert second["already_imported"] and second["booked"] == first["booked"]
    assert second["report_id"] == first["report_id"] and second["breaks"] == first["breaks"]
    kessai(tmp_path, "ledger", "check")

    open_breaks = json.loads(kessai(tmp_path, "settle", "breaks", "--json").stdout)
    assert [b["break_id"] for b in open_breaks] == [b["break_id"] for b in first["breaks"]]
    missing = next(b for b in open_breaks if b["kind"] == "missing")
    assert (missing["merchant_id"], missing["payment_id"]) == (mid, ids[0])
    kessai(tmp_path, "settle", "resolve", str(missing["break_id"]), "--reason", "paid on 12/08")
    left = json.loads(kessai(tmp_path, "settle", "breaks", "--json").stdout)
    assert missing["break_id"] not in [b["break_id"] for b in left] and len(left) == 2
    (resolved,) = [b for b in json.loads(kessai(tmp_path, "settle", "breaks", "--all", "--json")
                   .stdout) if b["break_id"] == missing["break_id"]]  # fmt: skip
    assert resolved["resolution"] == "paid on 12/08" and resolved["resolved_at"]
    twice = kessai(tmp_path, "settle", "resolve", str(missing["break_id"]), "--reason", "x",
                   check=False)  # fmt: skip
    assert twice.returncode == 1 and "was resolved on" in twice.stderr


def test_a_report_of_another_institution_or_cut_short_is_refused_and_changes_nothing(tmp_path):
    _shop(tmp_path)
    today = datetime.now(JST).date().isoformat()
    out = tmp_path / "r.txt"
    kessai(tmp_path, "sandbox", "settlement-report", "--institution", "acquirer", "--date", today,
           "--out", str(out))  # fmt: skip
    wrong = kessai(tmp_path, "settle", "import", str(out), "--institution", "cvs", check=False)
    assert wrong.returncode == 1 and "is 'acquirer''s report, not 'cvs''s" in wrong.stderr
    cut = tmp_path / "cut.txt"
    cut.write_bytes(b"".join(out.read_bytes().splitlines(keepends=True)[:-1]))
    refused = kessai(tmp_path, "settle", "import", str(cut), "--institution", "acquirer",
                     check=False)  # fmt: skip
    assert refused.returncode == 1 and "cut short" in refused.stderr
    assert json.loads(kessai(tmp_path, "settle", "breaks", "--all", "--json").stdout) == []
