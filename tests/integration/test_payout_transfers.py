"""The bank file of a payout date, from closed statements to the merchants' registered accounts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest

from kessai.app import Runtime
from kessai.core.merchants.commands import PayoutChange, update_merchant
from kessai.core.payouts.statement import Statement
from kessai.core.payouts.transfers import statements_source, transfer_file
from kessai.core.payouts.zengin import Requester
from kessai.kit.errors import InvalidRequest
from tests.conftest import make_merchant
from tests.support.zengin import parse

PAY_DAY = date(2026, 12, 30)
OPERATOR = Requester("1234567890", "ｹｯｻｲ", "0001", "ﾐｽﾞﾎ", "001", "ﾄｳｷﾖｳ", "1", "0000001")


def _statement(merchant_id: int, amount: int, payout_date: date = PAY_DAY) -> dict[str, Any]:
    return {
        "statement_id": f"ST-{merchant_id}-{payout_date:%Y%m%d}",
        "merchant_id": merchant_id,
        "period_from": "2026-11-01",
        "period_through": "2026-11-30",
        "payout_date": payout_date.isoformat(),
        "lines": [{"payment_type": "02", "count": 1, "gross": amount, "refunds": 0, "fees": 0}],
        "fees_total": 0,
        "tax": 0,
        "adjustments": 0,
        "carried_in": 0,
        "payout_amount": amount,
        "carried_forward": 0,
    }


def _with_account(runtime: Runtime, account: str, holder: str) -> int:
    merchant_id = make_merchant(runtime).merchant_id
    with runtime.core.sessions.begin() as session:
        update_merchant(
            session,
            merchant_id,
            now=runtime.core.clock.now(),
            payout=PayoutChange(cycle="monthly", bank_account=account, account_holder=holder),
        )
    return merchant_id


def test_statements_of_the_day_become_transfers_and_a_merchant_without_account_is_held(
    runtime: Runtime,
) -> None:
    paid = _with_account(runtime, "0001-001-1-1234567", "ヤマダ　タロウ")
    other = _with_account(runtime, "0005-001-2-0000042", "カ）スズキ")
    no_account = make_merchant(runtime).merchant_id
    statements = [
        Statement.from_json(s)
        for s in (
            _statement(paid, 10_000),
            _statement(other, 2_500),
            _statement(no_account, 700),
            _statement(paid, 99, date(2027, 1, 29)),  # another payout date
            _statement(other, 0),  # everything carried forward: no transfer
        )
    ]
    with runtime.core.sessions() as session:
        written = transfer_file(
            session, PAY_DAY, source=statements_source(statements), requester=OPERATOR
        )
    records = parse(written.content)
    data = [r for r in records if r["data_kind"] == "2"]
    assert [(int(r["customer_code_1"]), int(r["amount"]), r["holder"].rstrip()) for r in data] == [
        (paid, 10_000, "ﾔﾏﾀﾞ ﾀﾛｳ"),
        (other, 2_500, "ｶ)ｽｽﾞｷ"),
    ]
    assert records[0]["transfer_date"] == "1230"
    assert (records[-2]["count"], int(records[-2]["total"])) == ("000002", 12_500)
    assert [(h.payout.merchant_id, h.payout.amount) for h in written.held] == [(no_account, 700)]
    assert "no bank account" in written.held[0].reason


def test_a_date_banks_do_not_transfer_on_is_refused(runtime: Runtime) -> None:
    with runtime.core.sessions() as session, pytest.raises(InvalidRequest, match="business day"):
        transfer_file(session, date(2026, 12, 31), source=statements_source([]), requester=OPERATOR)


def _kessai(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KESSAI_HOME": str(home),
        "KESSAI_LOG_LEVEL": "WARNING",
        "KESSAI_PAYOUT_REQUESTER_CODE": "0000012345",
        "KESSAI_PAYOUT_REQUESTER_NAME": "ケッサイ（カ",
        "KESSAI_PAYOUT_SOURCE_ACCOUNT": "0005-001-1-7777777",
        "KESSAI_INVOICE_REGISTRATION_NUMBER": "T9876543210987",
    }
    env.pop("KESSAI_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "kessai", *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def test_cli_writes_the_file_of_the_day_and_lists_what_it_held(tmp_path: Path) -> None:
    _kessai(tmp_path, "migrate")
    created = [json.loads(_kessai(tmp_path, "merchant", "create", "--json").stdout) for _ in "ab"]
    paid, unpaid = (c["merchant_id"] for c in created)
    _kessai(
        tmp_path,
        *("merchant", "update", str(paid), "--payout-cycle", "monthly"),
        *("--bank-account", "0001-001-1-1234567", "--account-holder", "やまだ はなこ"),
    )
    closed = tmp_path / "closed.json"
    closed.write_text(
        "\n".join(json.dumps(_statement(m, 5_000)) for m in (paid, unpaid)), encoding="utf-8"
    )
    out = tmp_path / "furikomi.txt"
    args = ("payouts", "zengin", "--date", "2026-12-30", "--out", str(out))
    result = _kessai(tmp_path, *args, "--statements", str(closed), "--json")
    summary = json.loads(result.stdout)
    assert (summary["count"], summary["total"]) == (1, 5_000)
    assert [h["merchant_id"] for h in summary["held"]] == [unpaid]
    header, data, trailer, _end = parse(out.read_bytes())
    assert (header["requester_code"], header["requester_name"].rstrip()) == (
        "0000012345",
        "ｹﾂｻｲ(ｶ",
    )
    assert (header["bank_code"], header["account_number"]) == ("0005", "7777777")
    assert (data["holder"].rstrip(), int(data["customer_code_1"])) == ("ﾔﾏﾀﾞ ﾊﾅｺ", paid)
    assert (trailer["count"], trailer["total"]) == ("000001", "000000005000")
    again = _kessai(tmp_path, *args, "--statements", str(closed), check=False)
    assert again.returncode != 0 and "never overwritten" in again.stderr


def test_cli_prints_a_statement_pdf_with_the_merchant_and_the_registration_number(
    tmp_path: Path,
) -> None:
    _kessai(tmp_path, "migrate")
    mid = json.loads(
        _kessai(tmp_path, "merchant", "create", "--name", "やまだ商店", "--json").stdout
    )["merchant_id"]
    closed = tmp_path / "closed.json"
    closed.write_text(json.dumps([_statement(mid, 43_210)]), encoding="utf-8")
    out = tmp_path / "statement.pdf"
    _kessai(tmp_path, "payouts", "statement", "--statements", str(closed), "--out", str(out))
    document = pdfium.PdfDocument(out.read_bytes())
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    for expected in (
        "やまだ商店 御中",
        "登録番号 T9876543210987",
        "43,210円",
        f"ST-{mid}-20261230",
    ):
        assert expected in text, expected
