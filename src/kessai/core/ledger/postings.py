"""Which entries each money event makes.

A payment's money moves when its status crosses the line between "the merchant is owed this
payment's amount" and "not": `kessai.core.payments.tables.holds_money` draws that line per method,
and `settle.change_status` — the one place every status change of every method is written — calls
`record_payment_move` when a change crosses it, in the same transaction. So a capture, a paid CVS
number, a cleared transfer or a carrier's capture is a SALE, and its cancel, refund or reduction a
REFUND of the same amount on the same accounts, and the ledger cannot drift from the payments.

  SALE     Dr merchant:M:receivable:T:I   Cr merchant:M:payable
  REFUND   Dr merchant:M:payable          Cr merchant:M:receivable:T:I
  RECEIPT  Dr kessai:bank                 Cr merchant:M:receivable:T:I   (reconciliation)
  CLAWBACK Dr merchant:M:receivable:T:I   Cr kessai:bank                 (a refund kept back)
  ADJUSTMENT  Dr merchant:M:fees / Cr merchant:M:payable (or the other way)   (an operator's)
  PAYOUT_SENT Dr merchant:M:payout / Cr kessai:bank                        (the bank file)
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from kessai.core.ledger import accounts
from kessai.core.ledger.journal import Entry, EntryKind, check, post
from kessai.core.payments.models import Payment
from kessai.kit.clock import JST, as_utc


def business_date(moment: datetime) -> date:
    """The day `moment` falls on in Japan: the date a money event is booked on."""
    return as_utc(moment).astimezone(JST).date()


def record_payment_move(
    session: Session, payment: Payment, *, gave_back: bool, now: datetime
) -> None:
    """Book `payment`'s amount as a sale (or, `gave_back`, as its refund) on `now`'s business
    date: one INSERT in the caller's transaction, nothing read."""
    post(session, [payment_move_entry(payment, gave_back=gave_back, now=now)], now=now)


def payment_move_entry(payment: Payment, *, gave_back: bool, now: datetime) -> Entry:
    """The entry `record_payment_move` posts (the lean capture writes it in its own statement)."""
    receivable = accounts.receivable(
        payment.merchant_id, payment.payment_type, payment.institution_code
    )
    payable = accounts.payable(payment.merchant_id)
    debit, credit = (payable, receivable) if gave_back else (receivable, payable)
    entry = Entry(
        kind=EntryKind.REFUND if gave_back else EntryKind.SALE,
        debit=debit,
        credit=credit,
        amount=payment.amount,
        event_date=business_date(now),
        merchant_id=payment.merchant_id,
        payment_id=payment.id,
        payment_type=payment.payment_type,
        institution=payment.institution_code,
    )
    check(entry)
    return entry


def record_institution_receipt(
    session: Session,
    *,
    merchant_id: int,
    payment_type: str,
    institution: str,
    amount: int,
    received_on: date,
    now: datetime,
    payment_id: int | None = None,
    kept_back: bool = False,
) -> None:
    """An institution's remittance for `merchant_id`'s sales arrived in Kessai's bank (入金消込):
    Dr kessai:bank / Cr the receivable. With `kept_back`, the institution kept a refund back from
    its remittance instead (CLAWBACK: Dr the receivable / Cr kessai:bank). `payment_id` names the
    payment a settlement report line paid (`kessai settle import`); a remittance covering several
    payments without a detail is one call per merchant and no payment."""
    entry = institution_receipt(
        merchant_id=merchant_id,
        payment_type=payment_type,
        institution=institution,
        amount=amount,
        received_on=received_on,
        payment_id=payment_id,
        kept_back=kept_back,
    )
    post(session, [entry], now=now)


def institution_receipt(
    *,
    merchant_id: int,
    payment_type: str,
    institution: str,
    amount: int,
    received_on: date,
    payment_id: int | None = None,
    kept_back: bool = False,
) -> Entry:
    """The entry `record_institution_receipt` posts, for a caller posting many at once (a
    settlement report's lines: one INSERT per thousand, not per line)."""
    receivable = accounts.receivable(merchant_id, payment_type, institution)
    debit, credit = (receivable, accounts.BANK) if kept_back else (accounts.BANK, receivable)
    return Entry(
        kind=EntryKind.CLAWBACK if kept_back else EntryKind.RECEIPT,
        debit=debit,
        credit=credit,
        amount=amount,
        event_date=received_on,
        merchant_id=merchant_id,
        payment_id=payment_id,
        payment_type=payment_type,
        institution=institution,
    )


def record_adjustment(
    session: Session, *, merchant_id: int, amount: int, on: date, now: datetime
) -> None:
    """An operator's correction between Kessai and the merchant, closed on the next statement
    as its `adjustments`: `amount` > 0 is owed to the merchant (Dr fees / Cr payable), < 0 is
    owed by it. Never a change to an existing entry."""
    payable, fees = accounts.payable(merchant_id), accounts.fees(merchant_id)
    debit, credit = (fees, payable) if amount > 0 else (payable, fees)
    entry = Entry(EntryKind.ADJUSTMENT, debit, credit, abs(amount), on, merchant_id=merchant_id)
    post(session, [entry], now=now)


def record_payout_sent(
    session: Session, *, merchant_id: int, statement_id: int, amount: int, on: date, now: datetime
) -> None:
    """A statement's payout left Kessai's bank (the payout bank file was accepted): Dr the
    merchant's payout account / Cr kessai:bank."""
    entry = Entry(
        EntryKind.PAYOUT_SENT,
        accounts.payout(merchant_id),
        accounts.BANK,
        amount,
        on,
        merchant_id=merchant_id,
        statement_id=statement_id,
    )
    post(session, [entry], now=now)
