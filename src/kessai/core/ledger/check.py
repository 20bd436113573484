"""`kessai ledger check`: proves the ledger's invariants over the stored rows.

1. Every entry balances: a positive amount, two distinct accounts, each a well-formed code, a
   merchant's account only on that merchant's entry.
2. Each merchant's payable (what Kessai owes it, from the accounts) equals what was settled
   (sales − refunds, from the entries' kinds) − fees − tax + adjustments − what was paid out.
3. The ledger agrees with the payments: each payment's sales minus refunds is its amount while its
   status holds money (`tables.holds_money`) and 0 otherwise.
4. Each statement equals its entries: lines, fees, tax and payout; its payout was sent at most
   once, and whole (PAYOUT_SENT is 0 or the payout).
5. What institutions paid for a payment never exceeds what it sold: its receipts are at most its
   sales, the refunds kept back at most its refunds (`kessai settle import` books at most the
   expected amount, and each sale or refund once).
A failure names the invariant and the row; nothing is repaired here (a correction is a new entry).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.ledger import accounts
from kessai.core.ledger.journal import EntryKind
from kessai.core.ledger.models import LedgerEntry
from kessai.core.payments.models import Payment
from kessai.core.payments.tables import holds_money
from kessai.core.statements.models import Statement, StatementLine

FEE_KINDS = frozenset({EntryKind.FEE, EntryKind.TRANSFER_FEE, EntryKind.MONTHLY_FEE})


@dataclass(frozen=True, slots=True)
class Failure:
    invariant: str  # balanced | payable | payments | statement | receipts
    subject: str  # "entry 12", "merchant 30001", "payment 7", "statement 3"
    detail: str


@dataclass
class Report:
    entries: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class _Sums:
    """One merchant's figures, from the entries' kinds and from its payable account."""

    payable: int = 0
    settled: int = 0
    fees: int = 0
    tax: int = 0
    adjustments: int = 0
    paid_out: int = 0


def check(session: Session, *, merchant_id: int | None = None) -> Report:
    """Every invariant over every entry (of `merchant_id`, or all)."""
    report = Report()
    sums: dict[int, _Sums] = defaultdict(_Sums)
    per_payment: dict[int, int] = defaultdict(int)
    by_kind: dict[tuple[int, EntryKind], int] = defaultdict(int)
    for entry in _entries(session, merchant_id):
        report.entries += 1
        report.failures += _balanced(entry)
        if entry.merchant_id is not None:
            _add(sums[entry.merchant_id], entry)
        if entry.payment_id is not None:
            per_payment[entry.payment_id] += _sale_sign(entry) * entry.amount
            by_kind[entry.payment_id, EntryKind(entry.kind)] += entry.amount
    report.failures += _payables(sums)
    report.failures += _receipts(by_kind)
    report.failures += _payments(session, merchant_id, per_payment)
    report.failures += _statements(session, merchant_id)
    return report


def _entries(session: Session, merchant_id: int | None) -> Iterator[LedgerEntry]:
    query = select(LedgerEntry).order_by(LedgerEntry.id).execution_options(yield_per=2000)
    if merchant_id is not None:
        query = query.where(LedgerEntry.merchant_id == merchant_id)
    yield from session.scalars(query)


def _balanced(entry: LedgerEntry) -> list[Failure]:
    subject = f"entry {entry.id}"
    if entry.amount <= 0 or entry.debit == entry.credit:
        return [Failure("balanced", subject, f"{entry.amount} from {entry.credit} to itself")]
    for code in (entry.debit, entry.credit):
        account = accounts.parse(code)
        if account is None:
            return [Failure("balanced", subject, f"no such account {code!r}")]
        if account.merchant_id is not None and account.merchant_id != entry.merchant_id:
            return [Failure("balanced", subject, f"{code} on merchant {entry.merchant_id}'s entry")]
    return []


def _sale_sign(entry: LedgerEntry) -> int:
    return {EntryKind.SALE: 1, EntryKind.REFUND: -1}.get(EntryKind(entry.kind), 0)


def _add(sums: _Sums, entry: LedgerEntry) -> None:
    assert entry.merchant_id is not None
    payable = accounts.payable(entry.merchant_id)
    toward_payable = (entry.credit == payable) - (entry.debit == payable)
    sums.payable += toward_payable * entry.amount
    kind = EntryKind(entry.kind)
    sums.settled += _sale_sign(entry) * entry.amount
    if kind in FEE_KINDS:
        sums.fees += _credited(entry, accounts.fees(entry.merchant_id))
    elif kind is EntryKind.TAX:
        sums.tax += _credited(entry, accounts.tax(entry.merchant_id))
    elif kind is EntryKind.ADJUSTMENT:
        sums.adjustments += _credited(entry, payable)
    elif kind is EntryKind.PAYOUT:
        sums.paid_out += _credited(entry, accounts.payout(entry.merchant_id))


def _booked(
    entries: list[LedgerEntry], kinds: frozenset[EntryKind] | set[EntryKind], code: str
) -> int:
    """What the entries of `kinds` credited to `code`, net."""
    return sum(_credited(e, code) for e in entries if EntryKind(e.kind) in kinds)


def _credited(entry: LedgerEntry, code: str) -> int:
    """+amount when the entry credits `code`, −amount when it debits it, 0 otherwise."""
    return ((entry.credit == code) - (entry.debit == code)) * entry.amount


def _payables(sums: dict[int, _Sums]) -> list[Failure]:
    failures = []
    for merchant_id, s in sorted(sums.items()):
        expected = s.settled - s.fees - s.tax + s.adjustments - s.paid_out
        if s.payable != expected:
            failures.append(
                Failure(
                    "payable",
                    f"merchant {merchant_id}",
                    f"payable {s.payable} ≠ settled {s.settled} − fees {s.fees} − tax {s.tax}"
                    f" + adjustments {s.adjustments} − paid out {s.paid_out} = {expected}",
                )
            )
    return failures


def _receipts(by_kind: dict[tuple[int, EntryKind], int]) -> list[Failure]:
    failures = []
    pairs = ((EntryKind.RECEIPT, EntryKind.SALE), (EntryKind.CLAWBACK, EntryKind.REFUND))
    for payment_id in sorted({pid for pid, _ in by_kind}):
        for paid, owed in pairs:
            got, due = by_kind.get((payment_id, paid), 0), by_kind.get((payment_id, owed), 0)
            if got > due:
                detail = f"{paid.value} {got} yen exceeds its {owed.value}s, {due} yen"
                failures.append(Failure("receipts", f"payment {payment_id}", detail))
    return failures


def _payments(
    session: Session, merchant_id: int | None, per_payment: dict[int, int]
) -> list[Failure]:
    query = select(
        Payment.id, Payment.payment_type, Payment.status, Payment.amount, Payment.captured_at
    ).execution_options(yield_per=2000)
    if merchant_id is not None:
        query = query.where(Payment.merchant_id == merchant_id)
    failures = []
    for pid, payment_type, status, amount, captured_at in session.execute(query):
        held = holds_money(payment_type, status, captured=captured_at is not None)
        expected = amount if held else 0
        booked = per_payment.get(pid, 0)
        if booked != expected:
            failures.append(
                Failure(
                    "payments",
                    f"payment {pid}",
                    f"status {status}: {booked} yen booked as sold, {expected} expected",
                )
            )
    return failures


def _statements(session: Session, merchant_id: int | None) -> list[Failure]:
    query = select(Statement).order_by(Statement.merchant_id, Statement.number)
    if merchant_id is not None:
        query = query.where(Statement.merchant_id == merchant_id)
    failures = []
    carried: dict[int, int] = {}
    for statement in session.scalars(query):
        before = carried.get(statement.merchant_id, 0)  # the first statement carries nothing in
        if statement.carried_in != before:
            failures.append(
                Failure(
                    "statement",
                    f"statement {statement.id}",
                    f"carried in {statement.carried_in}, the last one carried forward {before}",
                )
            )
        carried[statement.merchant_id] = statement.carried_forward
        entries = list(
            session.scalars(select(LedgerEntry).where(LedgerEntry.statement_id == statement.id))
        )
        lines = list(
            session.scalars(select(StatementLine).where(StatementLine.statement_id == statement.id))
        )
        failures += _statement_failures(statement, lines, entries)
    return failures


def _statement_failures(
    statement: Statement, lines: list[StatementLine], entries: list[LedgerEntry]
) -> list[Failure]:
    m = statement.merchant_id
    by_kind: dict[EntryKind, int] = defaultdict(int)
    for e in entries:
        kind = EntryKind(e.kind)
        by_kind[kind] += e.amount if kind in (EntryKind.SALE, EntryKind.REFUND) else 0
    fees = _booked(entries, FEE_KINDS, accounts.fees(m))
    figures = {
        "gross": (sum(line.gross for line in lines), by_kind[EntryKind.SALE]),
        "refunds": (sum(line.refunds for line in lines), by_kind[EntryKind.REFUND]),
        "fees_total": (statement.fees_total, fees),
        "tax": (statement.tax, _booked(entries, {EntryKind.TAX}, accounts.tax(m))),
        # The payout as closed (PAYOUT), not what has left the bank since (PAYOUT_SENT).
        "payout_amount": (
            statement.payout_amount,
            _booked(entries, {EntryKind.PAYOUT}, accounts.payout(m)),
        ),
    }
    failures = [
        Failure("statement", f"statement {statement.id}", f"{name}: {shown} shown, {booked} booked")
        for name, (shown, booked) in figures.items()
        if shown != booked
    ]
    failures += _sent_failures(statement, entries)
    gross, refunds = figures["gross"][0], figures["refunds"][0]
    available = statement.carried_in + gross - refunds - statement.fees_total - statement.tax
    available += statement.adjustments
    if available != statement.payout_amount + statement.carried_forward:
        failures.append(
            Failure(
                "statement",
                f"statement {statement.id}",
                f"carried in + sales − fees − tax + adjustments = {available} ≠ payout "
                f"{statement.payout_amount} + carried forward {statement.carried_forward}",
            )
        )
    return failures


def _sent_failures(statement: Statement, entries: list[LedgerEntry]) -> list[Failure]:
    """The payout left the bank at most once, and whole: PAYOUT_SENT is 0 or the payout."""
    sent = -_booked(entries, {EntryKind.PAYOUT_SENT}, accounts.payout(statement.merchant_id))
    if sent in (0, statement.payout_amount):
        return []
    detail = f"payout sent {sent}, the statement pays {statement.payout_amount}"
    return [Failure("statement", f"statement {statement.id}", detail)]
