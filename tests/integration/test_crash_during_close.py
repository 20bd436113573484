"""A statement close killed (SIGKILL) midway (issue #12): after the restart the statement exists
whole or not at all — no statement without its stamped and closing entries, no entry stamped with
a statement that does not exist — `kessai ledger check` passes, and the next close closes the same
events exactly once. The dying process is `tests.support.dying_core` running `kessai settle close`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kessai.app import Runtime
from kessai.core.context import MerchantRef
from kessai.core.ledger.check import check
from kessai.core.ledger.journal import EntryKind
from kessai.core.ledger.models import LedgerEntry
from kessai.core.ledger.postings import business_date, record_adjustment
from kessai.core.statements.close import CloseTerms, close
from kessai.core.statements.fees import set_fee
from kessai.core.statements.models import Statement, StatementLine
from tests.conftest import make_merchant
from tests.support import money

ROOT = Path(__file__).resolve().parents[2]
CLOSED = (EntryKind.SALE.value, EntryKind.REFUND.value, EntryKind.ADJUSTMENT.value)


def _kessai(runtime: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    settings = runtime.settings
    env = {
        **os.environ,
        "KESSAI_HOME": str(settings.home),
        "KESSAI_DATABASE_URL": str(settings.database_url),
        "KESSAI_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _die_closing(runtime: Runtime, merchant_id: int, point: str, through: date) -> None:
    ref = f"{point}@{through.isoformat()}"
    args = ("-m", "tests.support.dying_core", "close", str(merchant_id), "sandbox", ref)
    done = _kessai(runtime, *args)
    assert done.returncode == -9, done.stderr


def _money_events(runtime: Runtime, merchant_id: int) -> list[int]:
    """Three captures, one refunded, and an adjustment, with a card fee: sales, a refund, fees."""
    now = runtime.core.clock.now()
    with runtime.core.sessions.begin() as session:
        set_fee(session, merchant_id, "02", rate_bp=325, fixed=10,
                effective_from=date(2026, 1, 1), now=now)  # fmt: skip
    shop = MerchantRef(id=merchant_id, mode="sandbox")
    paid = [
        money.card_payment(runtime, shop, amount, capture=True) for amount in (1_000, 2_000, 3_000)
    ]
    money.card_refund(runtime, shop, paid[0])
    with runtime.core.sessions.begin() as session:
        record_adjustment(session, merchant_id=merchant_id, amount=500, on=business_date(now),
                          now=now)  # fmt: skip
    return paid


def _entries(runtime: Runtime, merchant_id: int) -> list[tuple[str, int | None]]:
    with runtime.core.sessions() as session:
        rows = session.execute(
            select(LedgerEntry.kind, LedgerEntry.statement_id)
            .where(LedgerEntry.merchant_id == merchant_id)
            .order_by(LedgerEntry.id)
        )
        return [(kind, sid) for kind, sid in rows]


@pytest.mark.slow
@pytest.mark.parametrize("point", ["claimed", "lines", "commit"])
def test_a_close_killed_midway_leaves_nothing_and_the_next_close_takes_each_event_once(
    runtime: Runtime, point: str
) -> None:
    merchant_id = make_merchant(runtime).merchant_id
    _money_events(runtime, merchant_id)
    before = _entries(runtime, merchant_id)
    assert sorted(kind for kind, _ in before) == ["adjustment", "refund", "sale", "sale", "sale"]
    through = business_date(runtime.core.clock.now())

    _die_closing(runtime, merchant_id, point, through)

    with runtime.core.sessions() as session:
        statements = session.scalar(
            select(func.count()).select_from(Statement).where(Statement.merchant_id == merchant_id)
        )
    assert statements == 0  # not at all: no statement row …
    assert _entries(runtime, merchant_id) == before  # … no stamp, no fee or closing entry
    checked = _kessai(runtime, "-m", "kessai", "ledger", "check", "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["ok"] is True

    now = runtime.core.clock.now()
    with runtime.core.sessions.begin() as session:
        statement = close(session, merchant_id=merchant_id, through=through, now=now,
                          terms=CloseTerms("", minimum_payout=1))  # fmt: skip
        statement_id = statement.id
    after = _entries(runtime, merchant_id)
    closed = [(kind, sid) for kind, sid in after if kind in CLOSED]
    assert closed == [(kind, statement_id) for kind, _ in before]  # each event once, on it
    assert all(sid == statement_id for _, sid in after)  # fees and closing entries: on it too
    with runtime.core.sessions() as session:
        [line] = session.scalars(
            select(StatementLine).where(StatementLine.statement_id == statement_id)
        ).all()
        assert (line.count, line.gross, line.refunds) == (3, 6_000, 1_000)
        report = check(session, merchant_id=merchant_id)
        assert report.ok, report.failures
