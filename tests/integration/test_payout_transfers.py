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
from sqlalchemy import select

from kessai.app import Runtime
from kessai.core.ledger.check import check
from kessai.core.ledger.models import LedgerEntry
from kessai.core.ledger.postings import record_adjustment, record_payout_sent
from kessai.core.merchants.commands import PayoutChange, update_merchant
from kessai.core.payouts.models import PayoutSettings
from kessai.core.payouts.statement import Statement
from kessai.core.payouts.stored import (
    not_written,
    record_transfers_sent,
    stored_statements,
    write_bank_file,
)
from kessai.core.payouts.transfers import statements_source, transfer_file
from kessai.core.payouts.zengin import Requester
from kessai.core.statements.close import CloseTerms, close
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


CLOSED_THROUGH = date(2026, 11, 30)  # a closing day of the monthly cycle; paid on PAY_DAY


def _closed_with(runtime: Runtime, merchant_id: int, amount: int) -> int:
    """A stored statement of `merchant_id` through CLOSED_THROUGH paying `amount` (an adjustment,
    with no fees) on PAY_DAY."""
    now = runtime.core.clock.now()
    terms = CloseTerms(registration_number="T7000012050002", minimum_payout=1)
    with runtime.core.sessions.begin() as session:
        record_adjustment(
            session, merchant_id=merchant_id, amount=amount, on=CLOSED_THROUGH, now=now
        )
        closed = close(
            session, merchant_id=merchant_id, through=CLOSED_THROUGH, now=now, terms=terms
        )
        assert (closed.payout_date, closed.payout_amount) == (PAY_DAY, amount)
        return closed.id


def _sent(runtime: Runtime, statement_id: int) -> list[int]:
    with runtime.core.sessions() as session:
        rows = session.scalars(
            select(LedgerEntry.amount).where(
                LedgerEntry.statement_id == statement_id, LedgerEntry.kind == "payout_sent"
            )
        )
        return list(rows)


def test_stored_statements_of_the_day_are_the_default_source_and_are_booked_sent_once(
    runtime: Runtime,
) -> None:
    paid = _with_account(runtime, "0001-001-1-1234567", "ヤマダ　タロウ")
    unpaid = make_merchant(runtime).merchant_id
    with runtime.core.sessions.begin() as session:
        update_merchant(
            session, unpaid, now=runtime.core.clock.now(), payout=PayoutChange(cycle="monthly")
        )
    paid_statement = _closed_with(runtime, paid, 8_000)
    held_statement = _closed_with(runtime, unpaid, 600)
    with runtime.core.sessions.begin() as session:
        due = stored_statements(session, PAY_DAY)
        written = write_bank_file(
            session, PAY_DAY, requester=OPERATOR, now=runtime.core.clock.now()
        )
    mine = {d.statement_id: (d.merchant_id, d.amount) for d in due}
    assert mine[str(paid_statement)] == (paid, 8_000)
    assert mine[str(held_statement)] == (unpaid, 600)
    sent = [p for p in written.transferred if p.statement_id == str(paid_statement)]
    assert [(p.merchant_id, p.amount) for p in sent] == [(paid, 8_000)]
    held = [h for h in written.held if h.payout.statement_id == str(held_statement)]
    assert len(held) == 1 and "no bank account" in held[0].reason
    for run in range(2):
        with runtime.core.sessions.begin() as session:
            marked = record_transfers_sent(
                session, PAY_DAY, [paid_statement], now=runtime.core.clock.now()
            )
        assert [s.id for s in marked.posted] == ([paid_statement] if run == 0 else [])
        assert [s.id for s in marked.already] == ([] if run == 0 else [paid_statement])
    assert _sent(runtime, paid_statement) == [8_000]
    assert _sent(runtime, held_statement) == []
    with runtime.core.sessions() as session:
        for merchant_id in (paid, unpaid):
            report = check(session, merchant_id=merchant_id)
            assert report.ok, report.failures
    with runtime.core.sessions() as session:  # what a double run would have done (rolled back)
        record_payout_sent(
            session, merchant_id=paid, statement_id=paid_statement, amount=8_000, on=PAY_DAY,
            now=runtime.core.clock.now(),
        )  # fmt: skip
        failures = check(session, merchant_id=paid).failures
        session.rollback()
    assert [f.detail for f in failures if f.subject == f"statement {paid_statement}"] == [
        "payout sent 16000, the statement pays 8000"
    ]


def test_a_statement_of_another_date_is_not_booked_sent(runtime: Runtime) -> None:
    paid = _with_account(runtime, "0001-001-1-1234567", "ヤマダ　タロウ")
    statement_id = _closed_with(runtime, paid, 1_000)
    with runtime.core.sessions.begin() as session:
        other_day = date(2027, 1, 29)
        marked = record_transfers_sent(
            session, other_day, [statement_id], now=runtime.core.clock.now()
        )
    assert (marked.posted, marked.already) == ([], [])
    assert _sent(runtime, statement_id) == []


LATER_DAY = date(2027, 1, 5)  # a later bank business day


def _data(written_content: bytes) -> list[tuple[int, int, str]]:
    records = parse(written_content)
    return [
        (int(r["customer_code_1"]), int(r["amount"]), r["account_number"])
        for r in records
        if r["data_kind"] == "2"
    ]


def test_a_held_payout_goes_into_the_first_file_written_after_its_account_is_fixed(
    runtime: Runtime,
) -> None:
    late = make_merchant(runtime).merchant_id
    statement_id = _closed_with(runtime, late, 4_200)
    now = runtime.core.clock.now()
    with runtime.core.sessions.begin() as session:
        first = write_bank_file(session, PAY_DAY, requester=OPERATOR, now=now)
    held = [h for h in first.held if h.payout.statement_id == str(statement_id)]
    assert len(held) == 1 and "no bank account" in held[0].reason
    assert late not in [m for m, _, _ in _data(first.content)]
    with runtime.core.sessions.begin() as session:
        update_merchant(
            session, late, now=now,
            payout=PayoutChange(bank_account="0005-001-1-7654321", account_holder="ｻﾄｳ"),
        )  # fmt: skip
    with runtime.core.sessions() as session:
        waiting = [h for h in not_written(session, PAY_DAY) if h.payout.merchant_id == late]
    assert [h.reason for h in waiting] == [
        f"not in a bank file yet (kessai payouts zengin --date {PAY_DAY})"
    ]
    with runtime.core.sessions.begin() as session:
        later = write_bank_file(session, LATER_DAY, requester=OPERATOR, now=now)
    assert (late, 4_200, "7654321") in _data(later.content)
    assert parse(later.content)[0]["transfer_date"] == "0105"
    with runtime.core.sessions.begin() as session:
        marked = record_transfers_sent(session, LATER_DAY, now=now)
    assert statement_id in [s.id for s in marked.posted]
    assert _sent(runtime, statement_id) == [4_200]
    with runtime.core.sessions.begin() as session:  # paid: no later file carries it again
        again = write_bank_file(session, date(2027, 1, 6), requester=OPERATOR, now=now)
    assert late not in [m for m, _, _ in _data(again.content)]
    with runtime.core.sessions() as session:
        report = check(session, merchant_id=late)
        assert report.ok, report.failures


def test_mark_paid_books_what_the_file_wrote_whatever_the_accounts_say_later(
    runtime: Runtime,
) -> None:
    written_to = _with_account(runtime, "0001-001-1-1234567", "ヤマダ　タロウ")
    fixed_later = make_merchant(runtime).merchant_id
    in_file = _closed_with(runtime, written_to, 8_000)
    not_in_file = _closed_with(runtime, fixed_later, 900)
    now = runtime.core.clock.now()
    with runtime.core.sessions.begin() as session:
        written = write_bank_file(session, PAY_DAY, requester=OPERATOR, now=now)
    assert (written_to, 8_000, "1234567") in _data(written.content)
    with runtime.core.sessions.begin() as session:  # after the file: one account breaks,
        settings = session.get(PayoutSettings, written_to)  # the other is fixed
        assert settings is not None
        settings.bank_code = "9999"  # e.g. a bank merged away, gone from the directory
        update_merchant(
            session, fixed_later, now=now,
            payout=PayoutChange(cycle="monthly", bank_account="0005-001-1-7654321",
                                account_holder="ｻﾄｳ"),
        )  # fmt: skip
    with runtime.core.sessions.begin() as session:
        marked = record_transfers_sent(session, PAY_DAY, now=now)
    assert in_file in [s.id for s in marked.posted]
    assert not_in_file not in [s.id for s in marked.posted]
    assert (_sent(runtime, in_file), _sent(runtime, not_in_file)) == ([8_000], [])
    with runtime.core.sessions.begin() as session:  # the day's file again: as it was written
        rewritten = write_bank_file(session, PAY_DAY, requester=OPERATOR, now=now)
    assert (written_to, 8_000, "1234567") in _data(rewritten.content)


def _kessai(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KESSAI_HOME": str(home),
        "KESSAI_LOG_LEVEL": "WARNING",
        "KESSAI_PAYOUT_REQUESTER_CODE": "0000012345",
        "KESSAI_PAYOUT_REQUESTER_NAME": "ケッサイ（カ",
        "KESSAI_PAYOUT_SOURCE_ACCOUNT": "0005-001-1-7777777",
        "KESSAI_INVOICE_REGISTRATION_NUMBER": "T7000012050002",
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
    _kessai(
        tmp_path,
        *("payouts", "statement", "--statements", str(closed)),
        *("--statement-id", f"ST-{mid}-20261230", "--out", str(out)),
    )
    document = pdfium.PdfDocument(out.read_bytes())
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    for expected in (
        "やまだ商店 御中",
        "登録番号 T7000012050002",
        "43,210円",
        f"ST-{mid}-20261230",
    ):
        assert expected in text, expected


def test_cli_pays_stored_statements_marks_them_sent_once_and_prints_their_pdf(
    tmp_path: Path,
) -> None:
    _kessai(tmp_path, "migrate")
    created = [
        json.loads(_kessai(tmp_path, "merchant", "create", "--name", name, "--json").stdout)
        for name in ("やまだ商店", "すずき商店")
    ]
    paid, unpaid = (c["merchant_id"] for c in created)
    _kessai(
        tmp_path,
        *("merchant", "update", str(paid), "--payout-cycle", "monthly"),
        *("--bank-account", "0001-001-1-1234567", "--account-holder", "やまだ はなこ"),
    )
    statements = {}
    for merchant_id, amount in ((paid, 5_000), (unpaid, 700)):
        _kessai(tmp_path, "settle", "adjust", str(merchant_id), "--amount", str(amount),
                "--on", "2026-11-30")  # fmt: skip
        closed = _kessai(tmp_path, "settle", "close", str(merchant_id), "--through",
                         "2026-11-30", "--json")  # fmt: skip
        shown = json.loads(closed.stdout)
        assert shown["payout_date"] == "2026-12-30"
        statements[merchant_id] = shown["statement_id"]
    out = tmp_path / "furikomi.txt"
    args = ("payouts", "zengin", "--date", "2026-12-30", "--out", str(out), "--json")
    summary = json.loads(_kessai(tmp_path, *args).stdout)
    assert (summary["count"], summary["total"]) == (1, 5_000)
    assert [(h["merchant_id"], h["statement_id"]) for h in summary["held"]] == [
        (unpaid, str(statements[unpaid]))
    ]
    _header, data, _trailer, _end = parse(out.read_bytes())
    assert (int(data["customer_code_1"]), int(data["amount"])) == (paid, 5_000)
    mark = ("payouts", "mark-paid", "--date", "2026-12-30", "--json")
    first = json.loads(_kessai(tmp_path, *mark).stdout)
    assert first["posted"] == [
        {"statement_id": statements[paid], "merchant_id": paid, "amount": 5_000}
    ]
    assert [h["merchant_id"] for h in first["held"]] == [unpaid]
    second = json.loads(_kessai(tmp_path, *mark).stdout)
    assert (second["posted"], second["already_posted"]) == ([], [statements[paid]])
    assert json.loads(_kessai(tmp_path, "ledger", "check", "--json").stdout)["ok"] is True
    pdf = tmp_path / "statement.pdf"
    _kessai(tmp_path, "payouts", "statement", "--statement-id", str(statements[paid]),
            "--out", str(pdf))  # fmt: skip
    document = pdfium.PdfDocument(pdf.read_bytes())
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    for expected in (
        "やまだ商店 御中",
        "5,000円",
        f"明細番号 {statements[paid]}",
        "2026年12月30日",
    ):
        assert expected in text, expected
    missing = _kessai(tmp_path, "payouts", "statement", "--statement-id", "999999",
                      "--out", str(tmp_path / "none.pdf"), check=False)  # fmt: skip
    assert missing.returncode != 0 and "does not exist" in missing.stderr
