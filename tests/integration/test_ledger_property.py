"""Random sequences of payments by every method, captures, refunds, voids, corrections and
statement closes: the ledger always balances and agrees with the payments, every money event ends
on exactly one statement, and each statement equals its detail CSV to the yen."""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kessai.app import Runtime
from kessai.core.context import MerchantRef
from kessai.core.ledger.check import check
from kessai.core.ledger.postings import business_date
from kessai.core.payments.card import commands as card
from kessai.core.payments.card.corrections import CorrectionRequest, correct
from kessai.core.payments.refs import PaymentRef
from kessai.core.statements.close import CloseTerms, close
from kessai.core.statements.detail import detail_csv
from kessai.core.statements.fees import set_fee, set_payout_fees
from kessai.core.statements.models import Statement, StatementLine
from kessai.kit.errors import KessaiError
from tests.conftest import TestClock, make_merchant
from tests.support import carrier as carrier_support
from tests.support import money

STEPS = st.sampled_from(
    [
        "card_capture",
        "card_auth",
        "capture",
        "void",
        "refund",
        "correct",
        "atm",
        "cvs",
        "banknet",
        "va_over",
        "va_under",
        "slip_confirm",
        "slip_withdraw",
        "carrier",
        "close",
    ]
)
TERMS = CloseTerms("T7000012050002", minimum_payout=3000)


class Shop:
    def __init__(self, runtime: Runtime, server: str, clock: TestClock) -> None:
        self.runtime, self.server, self.clock = runtime, server, clock
        self.row = make_merchant(runtime)
        self.ref = MerchantRef(id=self.row.merchant_id, mode="sandbox")
        self.cards: list[int] = []
        self.last_through = None

    def step(self, step: str, amount: int, pick: int) -> None:
        rt, m = self.runtime, self.ref
        with contextlib.suppress(KessaiError):  # refused in its state: nothing must move
            match step:
                case "card_capture" | "card_auth":
                    self.cards.append(
                        money.card_payment(rt, m, amount, capture=step == "card_capture")
                    )
                case "capture" | "void" | "refund" if self.cards:
                    pid = self.cards[pick % len(self.cards)]
                    getattr(card, step)(rt.core, m, PaymentRef(payment_id=str(pid)))
                case "correct" if self.cards:
                    self._correct(self.cards[pick % len(self.cards)])
                case "close":
                    self.close()
                case _:
                    self._paid_later(step, amount)

    def _correct(self, pid: int) -> None:
        ref = PaymentRef(payment_id=str(pid))
        request = CorrectionRequest(ref=ref, amount=1, is_reduction=True, capture=True)
        result = correct(self.runtime.core, self.ref, request)
        if result.payment is not None:
            self.cards.append(result.payment.payment_id)

    def _paid_later(self, step: str, amount: int) -> None:
        rt, m = self.runtime, self.ref
        match step:
            case "atm":
                money.atm_paid(rt, m, amount)
            case "cvs":
                money.cvs_paid(rt, m, amount)
            case "banknet":
                money.banknet_paid(rt, m, amount)
            case "va_over" | "va_under":
                paid = amount + 100 if step == "va_over" else max(1, amount - 100)
                money.va_claim_paid(rt, m, amount, paid)
            case "slip_confirm" | "slip_withdraw":
                pid = money.slip_reported(rt, m, amount)
                money.slip_move(rt, m, pid, "40" if step == "slip_confirm" else "61")
            case "carrier":
                pid = carrier_support.paid(self.server, self.row, carrier_support.AU_KANTAN)
                carrier_support.telegram(self.server, self.row, "101", payment_id=pid)

    def close(self) -> None:
        """Close through today (Japan), then let a day pass so later events are dated after."""
        through = business_date(self.runtime.core.clock.now())
        with self.runtime.core.sessions.begin() as session:
            close(session, merchant_id=self.ref.id, through=through,
                  now=self.runtime.core.clock.now(), terms=TERMS)  # fmt: skip
        self.clock.advance(timedelta(days=1))


def _set_fees(runtime: Runtime, merchant_id: int, rate_bp: int, fixed: int) -> None:
    now = runtime.core.clock.now()
    since = business_date(now) - timedelta(days=1)
    with runtime.core.sessions.begin() as session:
        for method in ("01", "02", "03", "04", "05", "06", "07"):
            set_fee(session, merchant_id, method, rate_bp=rate_bp, fixed=fixed,
                    effective_from=since, now=now)  # fmt: skip
        set_payout_fees(session, merchant_id, transfer_fee=250, monthly_fee=500,
                        effective_from=since, now=now)  # fmt: skip


def _assert_statements_equal_their_csv(runtime: Runtime, merchant_id: int) -> None:
    with runtime.core.sessions() as session:
        statements = session.scalars(select(Statement).where(Statement.merchant_id == merchant_id))
        for statement in statements:
            lines = session.scalars(
                select(StatementLine).where(StatementLine.statement_id == statement.id)
            ).all()
            rows = list(csv.DictReader(io.StringIO(detail_csv(session, statement).decode("cp932"))))
            assert sum(int(r["売上金額"]) for r in rows) == sum(x.gross for x in lines)
            assert sum(int(r["取消金額"]) for r in rows) == sum(x.refunds for x in lines)
            assert sum(int(r["手数料"]) for r in rows) == statement.fees_total
            assert sum(int(r["消費税"]) for r in rows) == statement.tax


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    rate_bp=st.integers(0, 500),
    fixed=st.integers(0, 100),
    steps=st.lists(
        st.tuples(STEPS, st.integers(1, 60_000), st.integers(0, 20)), min_size=1, max_size=12
    ),
)
def test_any_sequence_keeps_the_ledger_whole(
    runtime: Runtime, server: str, clock: TestClock, rate_bp: int, fixed: int, steps
) -> None:
    clock.offset = timedelta()
    shop = Shop(runtime, server, clock)
    _set_fees(runtime, shop.ref.id, rate_bp, fixed)
    for step, amount, pick in steps:
        shop.step(step, amount, pick)
        with runtime.core.sessions() as session:
            report = check(session, merchant_id=shop.ref.id)
        assert report.ok, (step, report.failures)
    shop.close()
    entries = money.entries(runtime, shop.ref.id)
    events = [e for e in entries if e.kind in ("sale", "refund")]
    assert all(e.statement_id is not None for e in events)  # every event on a statement…
    with runtime.core.sessions() as session:  # …and counted on one only
        lines = session.scalars(
            select(StatementLine)
            .join(Statement, Statement.id == StatementLine.statement_id)
            .where(Statement.merchant_id == shop.ref.id)
        ).all()
    assert sum(x.gross for x in lines) == sum(e.amount for e in events if e.kind == "sale")
    assert sum(x.refunds for x in lines) == sum(e.amount for e in events if e.kind == "refund")
    with runtime.core.sessions() as session:
        report = check(session, merchant_id=shop.ref.id)
    assert report.ok, report.failures
    _assert_statements_equal_their_csv(runtime, shop.ref.id)
