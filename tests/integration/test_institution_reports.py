"""Institutions' settlement reports (精算明細) against the ledger: the sandbox writes a day's report,
with breaks planted on request; an import books what was paid, finds each kind of break, and a
second import of the same file (or of another file paying the same sales) books nothing twice.
Each test moves the test clock to a day of its own, so the day's report holds only its sales."""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kessai.app import Runtime
from kessai.connectors.base import SettlementKind, SettlementLine, SettlementReport
from kessai.connectors.sandbox import settlement
from kessai.core.console.audit import Actor
from kessai.core.console.models import AuditEntry
from kessai.core.console.permissions import Role
from kessai.core.institution_reports import breaks
from kessai.core.institution_reports.matching import import_report
from kessai.core.institution_reports.models import InstitutionReportLine
from kessai.core.institution_reports.owed import owed_report, unknown_payment_id
from kessai.core.institution_reports.views import ImportResult, settlements_of_payment
from kessai.core.ledger import accounts
from kessai.core.ledger.check import check
from kessai.core.ledger.postings import (
    business_date,
    record_institution_receipt,
    record_payout_sent,
)
from kessai.kit.errors import InvalidRequest, InvalidState, NotFound
from tests.conftest import TestClock, make_merchant, test_db_kind
from tests.support import money
from tests.support.console import make_user, signed_in
from tests.support.paid_later import ref
from tests.support.statements import closed_statement

_DAYS = itertools.count(700)  # a day of its own per test, far from other tests' sales
OPERATOR = Actor(None, None, "operator:test", "cli")


@pytest.fixture
def day(runtime: Runtime, clock: TestClock) -> date:
    clock.offset = timedelta(days=next(_DAYS))
    return business_date(runtime.core.clock.now())


def _report(runtime: Runtime, institution: str, on: date, *plants: str) -> bytes:
    with runtime.core.sessions() as session:
        report = owed_report(session, institution, on)
        unknown = unknown_payment_id(session)
    return settlement.write(settlement.plant(report, plants, unknown_payment_id=unknown))


def _import(runtime: Runtime, institution: str, data: bytes) -> ImportResult:
    report = settlement.SandboxSettlementFormat(institution).parse(data)
    with runtime.core.sessions.begin() as session:
        return import_report(
            session,
            report,
            sha256=hashlib.sha256(data).hexdigest(),
            file_name="report.txt",
            now=runtime.core.clock.now(),
        )


def _receivable(runtime: Runtime, merchant_id: int, payment_type: str) -> int:
    """What the merchant's institutions of `payment_type` still owe, from the entries."""
    prefix = f"merchant:{merchant_id}:receivable:{payment_type}:"
    balance = 0
    for e in money.entries(runtime, merchant_id):
        balance += e.amount * (e.debit.startswith(prefix) - e.credit.startswith(prefix))
    return balance


def _bank_booked(runtime: Runtime, merchant_id: int) -> int:
    return sum(
        e.amount * ((e.debit == accounts.BANK) - (e.credit == accounts.BANK))
        for e in money.entries(runtime, merchant_id)
    )


def _assert_ledger_whole(runtime: Runtime, merchant_id: int) -> None:
    with runtime.core.sessions() as session:
        report = check(session, merchant_id=merchant_id)
    assert report.ok, report.failures


def test_a_clean_report_books_every_sale_of_its_institution_and_finds_no_break(
    runtime, merchant, day
):
    shop = ref(merchant)
    card_ids = [
        money.card_payment(runtime, shop, amount, capture=True) for amount in (10_000, 5_000)
    ]
    money.cvs_paid(runtime, shop, 3_000)  # the CVS agency's, not the acquirer's
    result = _import(runtime, "acquirer", _report(runtime, "acquirer", day))
    assert (result.lines, result.matched, result.booked, result.breaks) == (2, 2, 15_000, [])
    assert _receivable(runtime, merchant.merchant_id, "02") == 0
    assert _receivable(runtime, merchant.merchant_id, "03") == 3_000
    receipts = [e for e in money.entries(runtime, merchant.merchant_id) if e.kind == "receipt"]
    assert sorted(e.payment_id for e in receipts) == sorted(card_ids)
    assert {e.event_date for e in receipts} == {day}
    _assert_ledger_whole(runtime, merchant.merchant_id)


def test_planted_breaks_of_each_kind_are_found_and_importing_twice_books_nothing(
    runtime, merchant, day
):
    shop = ref(merchant)
    ids = [money.card_payment(runtime, shop, a, capture=True) for a in (1_000, 2_000, 3_000, 4_000)]
    data = _report(runtime, "acquirer", day, "missing", "unknown", "amount", "twice")
    first = _import(runtime, "acquirer", data)
    found = {b.kind: b for b in first.breaks}
    assert sorted(found) == ["amount", "missing", "twice", "unknown"]
    assert (found["missing"].payment_id, found["missing"].expected, found["missing"].paid) == (
        ids[0], 1_000, 0)  # fmt: skip
    assert (found["amount"].payment_id, found["amount"].expected, found["amount"].paid) == (
        ids[1], 2_000, 1_900)  # fmt: skip
    assert (found["twice"].payment_id, found["twice"].paid) == (ids[2], 3_000)
    assert found["unknown"].payment_id not in ids and found["unknown"].paid == 1_000
    assert found["unknown"].line_number is not None and found["missing"].line_number is None
    # Booked: the short-paid sale as paid (1,900), the sale paid twice once, the clean one.
    assert first.booked == 1_900 + 3_000 + 4_000
    assert _receivable(runtime, merchant.merchant_id, "02") == 1_000 + 100

    again = _import(runtime, "acquirer", data)
    assert again.already_imported and again.report_id == first.report_id
    assert [b.break_id for b in again.breaks] == [b.break_id for b in first.breaks]
    assert _bank_booked(runtime, merchant.merchant_id) == 8_900

    # A corrected report of the same day (another file) pays the missing sale late; what was
    # paid already is paid twice, never booked again.
    late = _import(runtime, "acquirer", _report(runtime, "acquirer", day))
    assert not late.already_imported and late.booked == 1_000 and late.matched == 1
    assert sorted(b.kind for b in late.breaks) == ["twice", "twice", "twice"]
    assert _bank_booked(runtime, merchant.merchant_id) == 9_900
    assert _receivable(runtime, merchant.merchant_id, "02") == 100  # the short payment
    _assert_ledger_whole(runtime, merchant.merchant_id)


def test_a_refund_is_kept_back_from_the_remittance(runtime, merchant, day):
    shop = ref(merchant)
    kept = money.card_payment(runtime, shop, 8_000, capture=True)
    refunded = money.card_payment(runtime, shop, 2_500, capture=True)
    money.card_refund(runtime, shop, refunded)
    result = _import(runtime, "acquirer", _report(runtime, "acquirer", day))
    assert (result.lines, result.matched, result.breaks) == (3, 3, [])
    assert result.booked == 8_000  # 8,000 + 2,500 paid, 2,500 kept back
    kinds = sorted(e.kind for e in money.entries(runtime, merchant.merchant_id)
                   if e.kind in ("receipt", "clawback"))  # fmt: skip
    assert kinds == ["clawback", "receipt", "receipt"]
    assert _receivable(runtime, merchant.merchant_id, "02") == 0
    assert kept != refunded
    _assert_ledger_whole(runtime, merchant.merchant_id)


def test_every_sandbox_institution_reports_its_own_methods(runtime, merchant, day):
    shop = ref(merchant)
    paid = {
        "payeasy": money.atm_paid(runtime, shop, 1_100),
        "cvs": money.cvs_paid(runtime, shop, 1_200),
        "banknet": money.banknet_paid(runtime, shop, 1_300),
        "vaccount": money.va_unclaimed(runtime, shop, 1_400),
    }
    for institution, payment_id in paid.items():
        result = _import(runtime, institution, _report(runtime, institution, day))
        assert result.matched == 1 and result.breaks == [], institution
        (receipt,) = [e for e in money.entries(runtime, merchant.merchant_id)
                      if e.kind == "receipt" and e.payment_id == payment_id]  # fmt: skip
        assert receipt.credit.startswith(f"merchant:{merchant.merchant_id}:receivable:")
    _assert_ledger_whole(runtime, merchant.merchant_id)


def test_a_line_naming_another_merchant_is_unknown_and_books_nothing(runtime, merchant, day):
    other = money.card_payment(runtime, ref(merchant), 6_000, capture=True)
    line = SettlementLine(2, merchant.merchant_id + 1, other, "", SettlementKind.SALE, 6_000, day)
    data = settlement.write(SettlementReport("acquirer", day, (line,)))
    result = _import(runtime, "acquirer", data)
    assert sorted(b.kind for b in result.breaks) == ["missing", "unknown"]
    assert result.booked == 0 and _bank_booked(runtime, merchant.merchant_id) == 0


def test_a_line_may_name_its_payment_by_the_institutions_reference(runtime, merchant, day):
    payment_id = money.card_payment(runtime, ref(merchant), 7_000, capture=True)
    with runtime.core.sessions() as session:
        (line,) = owed_report(session, "acquirer", day).lines
    assert line.reference  # the acquirer's reference of the capture
    by_reference = SettlementReport("acquirer", day, (line.__class__(
        2, None, None, line.reference, SettlementKind.SALE, 7_000, day),))  # fmt: skip
    result = _import(runtime, "acquirer", settlement.write(by_reference))
    assert (result.matched, result.breaks) == (1, [])
    (receipt,) = [e for e in money.entries(runtime, merchant.merchant_id) if e.kind == "receipt"]
    assert receipt.payment_id == payment_id


def test_the_database_refuses_a_second_line_paying_one_entry(runtime, merchant, day):
    money.card_payment(runtime, ref(merchant), 9_000, capture=True)
    first = _import(runtime, "acquirer", _report(runtime, "acquirer", day))
    with runtime.core.sessions() as session:
        line = session.scalar(
            select(InstitutionReportLine).where(InstitutionReportLine.report_id == first.report_id)
        )
        assert line is not None and line.paid_entry_id is not None
        session.add(
            InstitutionReportLine(
                report_id=line.report_id, line_number=99, kind="sale", amount=9_000,
                settled_on=day, outcome="matched", paid_entry_id=line.paid_entry_id, booked=9_000,
            )
        )  # fmt: skip
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_breaks_stay_open_until_resolved_with_a_reason_in_the_audit_log(runtime, merchant, day):
    money.card_payment(runtime, ref(merchant), 4_400, capture=True)
    result = _import(runtime, "acquirer", _report(runtime, "acquirer", day, "missing"))
    (missing,) = result.breaks
    now = runtime.core.clock.now()
    with runtime.core.sessions() as session:
        assert missing.break_id in [b.break_id for b in breaks.list_breaks(session)]
    with runtime.core.sessions.begin() as session, pytest.raises(InvalidRequest):
        breaks.resolve(session, missing.break_id, reason="  ", actor=OPERATOR, now=now)
    with runtime.core.sessions.begin() as session:
        done = breaks.resolve(
            session, missing.break_id, reason="paid on 12/07 (bank)", actor=OPERATOR, now=now
        )
    assert done.resolved_by == "operator:test" and done.resolution == "paid on 12/07 (bank)"
    with runtime.core.sessions() as session:
        assert missing.break_id not in [b.break_id for b in breaks.list_breaks(session)]
        everything = breaks.list_breaks(session, include_resolved=True)
        assert missing.break_id in [b.break_id for b in everything]
        logged = session.scalar(
            select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == breaks.RESOLVE_ACTION,
                AuditEntry.target == f"break:{missing.break_id}",
                AuditEntry.merchant_id.is_(None),
            )
        )  # fmt: skip
    assert logged == 1
    with runtime.core.sessions.begin() as session, pytest.raises(InvalidState):
        breaks.resolve(session, missing.break_id, reason="again", actor=OPERATOR, now=now)
    with runtime.core.sessions.begin() as session, pytest.raises(NotFound):
        breaks.resolve(session, 10**12, reason="none", actor=OPERATOR, now=now)


def test_the_payment_page_shows_the_institutions_line_and_the_payout_that_carried_it(
    runtime, server, merchant, day
):
    closed = closed_statement(runtime, merchant.merchant_id, "INST1", 12_345)
    report = _import(runtime, "acquirer", _report(runtime, "acquirer", day))
    with runtime.core.sessions.begin() as session:
        record_payout_sent(
            session, merchant_id=merchant.merchant_id, statement_id=closed.statement_id,
            amount=12_345, on=day, now=runtime.core.clock.now(),
        )  # fmt: skip
    admin = make_user(runtime, merchant.merchant_id, f"in{uuid.uuid4().hex[:10]}", role=Role.ADMIN)
    page = signed_in(server, admin).get(f"/console/payments/{closed.payment_id}")
    assert page.status_code == 200
    settlements = re.search(r'<td id="settlements">(.*?)</td>', page.text, re.S)
    assert settlements is not None
    assert f"精算明細 {report.report_id}" in settlements[1] and "12,345円" in settlements[1]
    assert f"{day} 入金" in settlements[1] and "カード会社" in settlements[1]
    assert f"{day} 振込済み" in page.text

    viewer = make_user(runtime, merchant.merchant_id, f"in{uuid.uuid4().hex[:10]}")
    plain = signed_in(server, viewer).get(f"/console/payments/{closed.payment_id}")
    assert plain.status_code == 200 and 'id="settlements"' not in plain.text

    other = make_merchant(runtime)
    stranger = make_user(runtime, other.merchant_id, f"in{uuid.uuid4().hex[:10]}", role=Role.ADMIN)
    assert (
        signed_in(server, stranger).get(f"/console/payments/{closed.payment_id}").status_code == 404
    )
    with runtime.core.sessions() as session:
        assert settlements_of_payment(session, other.merchant_id, closed.payment_id) == []


def test_ledger_check_fails_a_payment_paid_more_than_it_sold(runtime, merchant, day):
    payment_id = money.card_payment(runtime, ref(merchant), 3_000, capture=True)
    _import(runtime, "acquirer", _report(runtime, "acquirer", day))
    _assert_ledger_whole(runtime, merchant.merchant_id)
    (sale,) = [e for e in money.entries(runtime, merchant.merchant_id) if e.kind == "sale"]
    with runtime.core.sessions.begin() as session:  # booked by hand, around the import
        record_institution_receipt(
            session, merchant_id=merchant.merchant_id, payment_type="02",
            institution=sale.institution, amount=1, received_on=day,
            now=runtime.core.clock.now(), payment_id=payment_id,
        )  # fmt: skip
    with runtime.core.sessions() as session:
        failures = check(session, merchant_id=merchant.merchant_id).failures
    assert [(f.invariant, f.subject) for f in failures] == [("receipts", f"payment {payment_id}")]


@pytest.mark.skipif(test_db_kind() != "postgresql", reason="real concurrency on PostgreSQL")
def test_two_imports_at_once_book_each_sale_once(runtime, merchant, day):
    """Two different files paying the same sales, imported at the same moment: one books, the
    other stops on the UNIQUE paid entry (after waiting for the first) and books nothing."""
    money.card_payment(runtime, ref(merchant), 2_000, capture=True)
    clean = _report(runtime, "acquirer", day)
    other = _report(runtime, "acquirer", day, "unknown")  # same sales, another file
    first = runtime.core.sessions()
    first.begin()
    parsed = settlement.SandboxSettlementFormat("acquirer").parse(clean)
    import_report(first, parsed, sha256="a" * 64, file_name="a", now=runtime.core.clock.now())
    outcome: list[object] = []

    def second() -> None:
        try:
            outcome.append(_import(runtime, "acquirer", other))
        except IntegrityError as error:
            outcome.append(error)

    racer = threading.Thread(target=second)
    racer.start()
    racer.join(timeout=2)
    assert racer.is_alive(), "the second import did not wait for the first's paid entry"
    first.commit()
    first.close()
    racer.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], IntegrityError)
    assert _bank_booked(runtime, merchant.merchant_id) == 2_000
    _assert_ledger_whole(runtime, merchant.merchant_id)
